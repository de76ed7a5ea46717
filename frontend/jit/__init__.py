"""`compile`: tracing user functions into static IR graphs and running them."""
from .compiled import CompiledFunction, CompileError, GraphBreakWarning, Lowered, compile
from .trace_state import GraphBreak, is_tracing

__all__ = ["compile", "CompiledFunction", "CompileError", "GraphBreak", "GraphBreakWarning", "Lowered",
           "is_tracing"]
