"""Import pybullet without its build-time banner.

pybullet writes "pybullet build time: ..." to the C-level stderr when imported, on every run of
every command. The import runs with file descriptor 2 pointed at /dev/null; an import error still
surfaces as a Python exception once the descriptor is restored.
"""

from __future__ import annotations

import os
import sys


def _import_quietly():
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import pybullet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return pybullet


pybullet = _import_quietly()
