"""The static IR: graph, text form, verifier and analysis views."""
from .graph import Graph, Node, SourceLoc, Value, format_aval
from .text import IRParseError, parse, parse_aval, print_graph
from .verify import VerifyError, verify
from .views import to_dot, to_networkx

__all__ = ["Graph", "Node", "SourceLoc", "Value", "format_aval", "IRParseError", "parse", "parse_aval",
           "print_graph", "VerifyError", "verify", "to_dot", "to_networkx"]
