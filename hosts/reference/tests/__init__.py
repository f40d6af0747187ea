"""Unit tests of the reference host. Makes `src/` importable when PYTHONPATH is not set
(`npm run test:host` runs unittest discovery without it)."""

import os
import sys

_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

import logging

# Diagnostics are logged as warnings by design; keep unittest output readable.
logging.getLogger("distcheck_host").addHandler(logging.NullHandler())
logging.getLogger("distcheck_host").propagate = False
