"""distcheck reference extension host.

Wheel extensions (WHL clauses) are discovered through entry points; archive extensions (ARC clauses)
are installed and supervised by the agent. The binding interface is hosts/reference/INTERFACE.md.
"""

__version__ = "0.8.0"
