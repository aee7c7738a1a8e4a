"""The one root of every user-facing spikefly error.

Each part raises its own subclass (``WorldError``, ``SettingsError``, ``BoardError``, ...), whose
message names the file, the key and the fix. The command line catches this one class and prints
the message in one line with exit status 2; Python callers can catch it the same way. It is a
``ValueError``, as every one of them was before the root existed.
"""

from __future__ import annotations


class SpikeflyError(ValueError):
    """Bad input or an unusable resource, described in one line: the file, the key and the fix."""
