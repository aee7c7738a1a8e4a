"""Bad inputs, generated: every user file kind mutated key by key, and every flag given bad values.

A case is a file to write (or none), the command line that reads it, and what must happen:

- ``strict``: the input is wrong by construction (a wrong type, an unknown key, a magnitude no
  setting allows, bytes that are not the format): exit 2 with one line naming the file or flag;
- lenient: the mutation may happen to be valid (a deleted optional key, a zero where zero is
  allowed): exit 0 or exit 2 with one line.

Either way: no traceback, no hang, and a failed ``evolve`` leaves no run directory.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parents[2]

FREE_TEXT = {"name", "title", "source", "notes", "label", "spikefly_version"}
"""Keys whose value is any text: a junk string there is valid."""

OUT = "@OUT"
"""Stands for the case's output path (a run directory or an exported file) in a command line."""
FILE = "@FILE"
"""Stands for the case's input file in a command line."""


@dataclass
class Case:
    id: str
    argv: list[str]
    data: bytes | None = None
    """What to write at @FILE (None: the case writes no file)."""
    suffix: str = ".toml"
    strict: bool = True
    names: tuple[str, ...] = ()
    """Words of which the error line must hold one (the file's name is added automatically)."""
    creates: bool = False
    """The command would create @OUT on success (evolve): after an error, @OUT must not exist."""
    extra: dict[str, Any] = field(default_factory=dict)


# -- mutating parsed documents ---------------------------------------------------------------
def paths(document: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path of a TOML/JSON document; of a list, only its first element (and the list)."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list) and document:
        yield (*prefix, 0)
        yield from paths(document[0], (*prefix, 0))


def get(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


def with_value(document: Any, path: tuple, value: Any) -> Any:
    copied = copy.deepcopy(document)
    parent = get(copied, path[:-1])
    parent[path[-1]] = value
    return copied


def without(document: Any, path: tuple) -> Any:
    copied = copy.deepcopy(document)
    parent = get(copied, path[:-1])
    del parent[path[-1]]
    return copied


def value_mutations(value: Any, key: Any) -> Iterator[tuple[str, Any, bool]]:
    """(label, bad value, strict) for one value."""
    if isinstance(value, bool):
        yield "number-for-bool", 7, True
        yield "text-for-bool", "yes", True
    elif isinstance(value, (int, float)):
        yield "text-for-number", "ten", True
        yield "bool-for-number", True, True
        yield "list-for-number", [1, 2], True
        yield "huge", 1e300, True
        yield "minus-huge", -1e300, True
        yield "nan", math.nan, True
        yield "inf", math.inf, True
        yield "big-int", 10**30, True
        yield "minus-one", -1, False
        yield "zero", 0, False
        if isinstance(value, int):
            yield "fraction-for-int", 2.5, False
    elif isinstance(value, str):
        yield "junk-text", "bogus-\u00e9-value", key not in FREE_TEXT
        yield "number-for-text", 5, True
        yield "empty-text", "", key not in FREE_TEXT
    elif isinstance(value, list):
        yield "text-for-list", "abc", True
        yield "number-for-list", 3, True
        yield "empty-list", [], False
        yield "table-for-list", {"x": 1}, True
        if value and not isinstance(value[0], (dict, list)):
            yield "long-list", [value[0]] * 100_000, False
            yield "nested-list", [[value[0]]], True
    elif isinstance(value, dict):
        yield "text-for-table", "abc", True
        yield "number-for-table", 3, True
        yield "list-for-table", [1], True
        yield "empty-table", {}, False


def document_cases(stem: str, document: dict, dump, suffix: str, argv: list[str], *, creates: bool = False,
                   skip: tuple[tuple, ...] = (), strict_delete: tuple[tuple, ...] = (),
                   named: tuple[tuple, ...] = ()) -> Iterator[Case]:
    """Cases from mutating every key of ``document`` (written with ``dump``) for ``argv``.

    ``named``: tables whose keys are names the user chooses (renaming one is no typo).
    """
    for path in paths(document):
        if any(path[:len(prefix)] == prefix for prefix in skip):
            continue
        value = get(document, path)
        label = ".".join(str(p) for p in path)
        key = path[-1]
        names = (str(key),) if isinstance(key, str) else ()
        for kind, bad, strict in value_mutations(value, key):
            try:
                data = dump(with_value(document, path, bad))
            except (TypeError, ValueError):  # not writable in this format (NaN in TOML via tomli_w is fine)
                continue
            yield Case(f"{stem}:{label}:{kind}", argv, data, suffix, strict, names, creates)
        if isinstance(key, str):
            yield Case(f"{stem}:{label}:deleted", argv, dump(without(document, path)), suffix,
                       path in strict_delete, names, creates)
            parent = path[:-1]
            renamed = with_value(without(document, path), (*parent, f"{key}x"), value)
            yield Case(f"{stem}:{label}:misspelt", argv, dump(renamed), suffix, parent not in named, (f"{key}x",), creates)
    yield Case(f"{stem}:unknown-key", argv, dump({**document, "colour_of_sky": 1}), suffix, True, ("colour_of_sky",), creates)


def file_cases(stem: str, good: bytes, suffix: str, argv: list[str], *, creates: bool = False) -> Iterator[Case]:
    """Cases that break the file itself: empty, truncated, not text, not the format, nested, a folder."""
    yield Case(f"{stem}:empty", argv, b"", suffix, True, (), creates)
    for fraction in (0.3, 0.6, 0.9):
        yield Case(f"{stem}:truncated-{fraction}", argv, good[: int(len(good) * fraction)], suffix, False, (), creates)
    yield Case(f"{stem}:random-bytes", argv, bytes(range(256)) * 4, suffix, True, (), creates)
    yield Case(f"{stem}:latin-1", argv, good.replace(b"=", "= \u00e9".encode("latin-1"), 1) if b"=" in good
               else good.replace(b":", b":\xe9", 1), suffix, True, (), creates)
    yield Case(f"{stem}:utf-16", argv, good.decode("utf-8").encode("utf-16"), suffix, True, (), creates)
    if suffix == ".json":
        yield Case(f"{stem}:deep", argv, b"[" * 100_000 + b"]" * 100_000, suffix, True, (), creates)
        yield Case(f"{stem}:not-an-object", argv, b"[1, 2, 3]", suffix, True, (), creates)
    else:
        yield Case(f"{stem}:deep", argv, b"a = " + b"[" * 100_000 + b"]" * 100_000, suffix, True, (), creates)
        yield Case(f"{stem}:deep-tables", argv, b"a = " + b"{b = " * 5_000 + b"1" + b"}" * 5_000, suffix, True, (), creates)
    yield Case(f"{stem}:a-folder", [FILE + "/" if a == FILE else a for a in argv], None, suffix, True, (), creates,
               extra={"folder": True})
    yield Case(f"{stem}:missing", [a.replace(FILE, FILE + ".missing") for a in argv], None, suffix, True, (), creates)


def toml_dump(document: dict) -> bytes:
    return tomli_w.dumps(document).encode("utf-8")


def json_dump(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def read_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())
