"""Benchmark suites: named sets of fixed obstacle courses, flown together by ``spikefly evaluate --suite``.

A bundled suite is a folder ``worlds/suites/<name>/`` of world files (``*.toml``, one course
each). The one bundled today, ``heldout``, holds fixed courses written by
``worlds/suites/make_heldout.py``; no run may train or select on them (see worlds/README.md,
"Suites"). ::

    bundled_suites()            # ("heldout",)
    suite_courses("heldout")    # (Path(".../suites/heldout/boxes-crates.toml"), ...), sorted
    suite_courses("my/suite/")  # any folder of world files works too

Each path loads with :func:`spikefly.worlds.load_world`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import WorldError
from .table_reader import closest_key

SUITES_DIR = Path(__file__).resolve().parent / "suites"
"""Folder holding the bundled suites, one sub-folder of ``*.toml`` courses each (package data)."""


class SuiteError(WorldError):
    """An unknown suite name or an unusable suite folder (a :class:`WorldError`, so a ``ValueError``)."""


def bundled_suites() -> tuple[str, ...]:
    """Names of the bundled suites, sorted (``suite_courses(name)`` lists each one's courses)."""
    if not SUITES_DIR.is_dir():
        return ()
    return tuple(sorted(path.name for path in SUITES_DIR.iterdir() if path.is_dir() and any(path.glob("*.toml"))))


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text in (".", "..")


def suite_courses(name: str | os.PathLike[str]) -> tuple[Path, ...]:
    """The course files of suite ``name``, sorted by file name.

    ``name`` is a bundled suite (:func:`bundled_suites`), or a path to a folder of world files
    (anything with a path separator, or a :class:`os.PathLike`). Raises :class:`SuiteError`
    naming the suite and listing the bundled ones when there is no such suite or it holds no
    ``*.toml`` file.
    """
    names = bundled_suites()
    listed = ", ".join(names) or "none"
    if isinstance(name, os.PathLike) or _looks_like_path(str(name)):
        folder = Path(name)
        if not folder.is_dir():
            raise SuiteError(str(name), None, "no such folder of world files",
                             f"give a bundled suite ({listed}) or a folder holding .toml world files")
    else:
        folder = SUITES_DIR / str(name)
        if str(name) not in names:
            guess = closest_key(str(name), list(names))
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise SuiteError(str(name), None, f"no bundled suite named {str(name)!r}{hint}",
                             f"use one of the bundled suites ({listed}), or a path to a folder of world files")
    courses = tuple(sorted(folder.glob("*.toml"), key=lambda path: path.name))
    if not courses:
        raise SuiteError(str(name), None, "this folder holds no .toml world files",
                         f"give a folder of world files, or a bundled suite ({listed})")
    return courses
