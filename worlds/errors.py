"""The one exception type for every problem with a world file."""

from __future__ import annotations

from spikefly.core import SpikeflyError


class WorldError(SpikeflyError):
    """A world file (or world text) that cannot be used, with the place and the fix.

    The message reads ``<file>: <key>: <what is wrong>. Fix: <what to do>``, e.g.::

        forest.toml: obstacles[2].radius: expected a positive number, got -0.2.
        Fix: give the trunk radius in metres, e.g. radius = 0.2

    Attributes:
        path: the file path as given, ``"<string>"`` for text, or the bundled name asked for.
        key: dotted TOML path of the offending key (``obstacles[2].radius``), or a location
            such as ``line 4`` for syntax errors; ``None`` when no single key is at fault.
        problem: what is wrong, without the file and key.
        fix: what to change.
    """

    def __init__(self, path: str, key: str | None, problem: str, fix: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        self.fix = fix
        place = f"{path}: {key}" if key else path
        stop = "" if problem.endswith(("?", "!")) else "."
        super().__init__(f"{place}: {problem.rstrip('.')}{stop} Fix: {fix}")

    def __reduce__(self) -> tuple[type[WorldError], tuple[str, str | None, str, str]]:
        # Keeps the error picklable, so it survives a trip out of a worker process.
        return (type(self), (self.path, self.key, self.problem, self.fix))
