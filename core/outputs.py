"""Output paths checked before any work: a file or folder the command can create, or one clear error."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from spikefly.core.errors import SpikeflyError


class OutputPathError(SpikeflyError):
    """An output path the command cannot write: the message names the flag, the path and the fix."""


def _first_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _probe_writable(folder: Path, flag: str, path: Path) -> None:
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".spikefly-probe-")
    except OSError as error:
        raise OutputPathError(f"{flag} {path}: cannot write in {folder} ({error.strerror}). "
                              "Fix: pick a folder you can write to") from None
    os.close(handle)
    os.unlink(name)


def check_output_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` as a file the command may write (its folder may not exist yet), or an OutputPathError."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{flag} {path}: a folder is there. Fix: give a file name, e.g. {path / 'out'}")
    existing = _first_existing(path.parent)
    if not existing.is_dir():
        raise OutputPathError(f"{flag} {path}: {existing} is a file, not a folder. Fix: pick another path")
    _probe_writable(existing, flag, path)
    return path


def check_output_folder(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """``path`` as a folder the command may create or write into, or an OutputPathError."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{flag} {path}: a file is in the way. Fix: pick a folder name")
    existing = _first_existing(path)
    if not existing.is_dir():
        raise OutputPathError(f"{flag} {path}: {existing} is a file, not a folder. Fix: pick another path")
    _probe_writable(existing, flag, path)
    return path


__all__ = ["OutputPathError", "check_output_file", "check_output_folder"]
