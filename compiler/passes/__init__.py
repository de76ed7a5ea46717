"""Graph-to-graph passes and the named pipeline that runs them."""
from .cleanup import cse, dce
from .pipeline import PASSES, Pass, run_pipeline

__all__ = ["cse", "dce", "PASSES", "Pass", "run_pipeline"]
