"""Graph-to-graph passes, the named pipeline that runs them, and the
memory-planning analysis of a scheduled graph."""
from .cleanup import cse, dce
from .fusion import fuse, kernel_summary
from .memory import MemoryPlan, plan_memory
from .pipeline import PASSES, Pass, run_pipeline
from .simplification import simplify

__all__ = ["cse", "dce", "PASSES", "Pass", "run_pipeline", "simplify", "fuse", "kernel_summary", "MemoryPlan",
           "plan_memory"]
