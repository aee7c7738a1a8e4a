"""Checked reading of one parsed TOML table, with errors that name the file, key and fix.

Every value of a world file is read through a :class:`TableReader`, so every check (unknown
keys with a suggestion, missing keys, wrong types, booleans given as numbers, vector lengths,
NaN and infinity, absurd magnitudes, signs) raises the same kind of :class:`WorldError`.
"""

from __future__ import annotations

import datetime
import difflib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import WorldError

MAX_ABS_NUMBER = 1.0e6
"""Largest magnitude accepted for any number (metres, seconds, counts): keeps arithmetic on
world geometry far from overflow."""

_REQUIRED = object()
"""Sentinel default: the key must be present."""


def describe_value(value: object) -> str:
    """A short human description of a parsed TOML value, for error messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean; TOML booleans are not numbers)"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return f"the date/time {value.isoformat()}"
    return type(value).__name__


def format_number(value: float) -> str:
    """``repr`` for floats (exact), plain for ints; huge ints are shortened."""
    if isinstance(value, int) and abs(value) > 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    return repr(value)


def closest_key(key: str, valid: Sequence[str]) -> str | None:
    """The valid key closest in spelling to ``key``, or ``None`` when none is close."""
    matches = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return matches[0] if matches else None


class TableReader:
    """Reads the keys of one TOML table, raising :class:`WorldError` on anything wrong.

    Args:
        data: the parsed table.
        source: file path as given, or ``"<string>"``; starts every message.
        prefix: dotted path of this table (``""`` for the top level, ``"goal"``,
            ``"obstacles[2]"``); keys in messages are ``prefix.key``.
        where: where a missing key belongs, for the fix (``"under [goal]"``).
        base_dir: folder that relative paths in this file are relative to.
    """

    def __init__(
        self,
        data: Mapping[str, object],
        source: str,
        prefix: str = "",
        where: str = "at the top of the file, before any [table]",
        base_dir: Path | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.prefix = prefix
        self.where = where
        self.base_dir = base_dir

    # -- errors -------------------------------------------------------------------------

    def key_path(self, key: str | None) -> str | None:
        """Dotted TOML path of ``key`` in this table (the table's own path for ``None``)."""
        if key is None:
            return self.prefix or None
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str | None, problem: str, fix: str) -> WorldError:
        """A :class:`WorldError` for ``key`` of this table (raise it)."""
        return WorldError(self.source, self.key_path(key), problem, fix)

    def _missing(self, key: str, example: str, meaning: str) -> WorldError:
        return self.error(key, "missing required key", f"add {meaning}, e.g. {example}, {self.where}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is present."""
        return key in self.data

    # -- structure ----------------------------------------------------------------------

    def check_keys(self, allowed: Sequence[str], what: str) -> None:
        """Raise on the first key not in ``allowed``, suggesting the closest valid key."""
        for key in self.data:
            if key in allowed:
                continue
            valid = ", ".join(allowed)
            guess = closest_key(key, allowed)
            if guess is not None:
                raise self.error(
                    key,
                    f"unknown key {key!r} in {what}; did you mean {guess!r}?",
                    f"rename it to {guess} (valid keys here: {valid})",
                )
            raise self.error(key, f"unknown key {key!r} in {what}", f"remove it (valid keys here: {valid})")

    def table(self, key: str, what: str, example: str) -> TableReader:
        """The required sub-table ``[key]``."""
        if key not in self.data:
            raise self.error(key, f"missing required table [{key}]", f"add {what}, e.g. {example}")
        value = self.data[key]
        if not isinstance(value, Mapping):
            raise self.error(
                key,
                f"expected a table [{key}], got {describe_value(value)}",
                f"write {what} as a table, e.g. {example}",
            )
        return TableReader(value, self.source, self.key_path(key) or key, f"under [{key}]", self.base_dir)

    def table_array(self, key: str, example: str) -> list[TableReader]:
        """The optional array of tables ``[[key]]`` (empty when absent)."""
        if key not in self.data:
            return []
        value = self.data[key]
        if isinstance(value, Mapping):
            raise self.error(
                key,
                f"expected an array of tables [[{key}]], got a single table [{key}]",
                f"write [[{key}]] with double brackets before each entry",
            )
        if not isinstance(value, list):
            raise self.error(
                key,
                f"expected an array of tables [[{key}]], got {describe_value(value)}",
                f"give each entry its own [[{key}]] table, e.g. {example}",
            )
        readers = []
        for index, item in enumerate(value):
            path = f"{self.key_path(key)}[{index}]"
            if not isinstance(item, Mapping):
                raise WorldError(
                    self.source,
                    path,
                    f"expected a table, got {describe_value(item)}",
                    f"give each entry its own [[{key}]] table, e.g. {example}",
                )
            readers.append(TableReader(item, self.source, path, f"in this [[{key}]] entry", self.base_dir))
        return readers

    # -- scalars ------------------------------------------------------------------------

    def _checked_number(self, key: str, value: object, example: str, meaning: str) -> float:
        """``value`` as a finite float of sane magnitude (ints accepted, booleans not)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(
                key, f"expected a number, got {describe_value(value)}", f"give {meaning}, e.g. {example}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(
                key, f"expected a finite number, got {value!r}", f"give {meaning}, e.g. {example}"
            )
        if abs(value) > MAX_ABS_NUMBER:
            raise self.error(
                key,
                f"{format_number(value)} is too large (limit {MAX_ABS_NUMBER:g} in magnitude)",
                f"give {meaning}, e.g. {example}",
            )
        return float(value)

    def number(
        self,
        key: str,
        example: str,
        meaning: str,
        default: float | object = _REQUIRED,
        positive: bool = False,
        non_negative: bool = False,
    ) -> float:
        """The number ``key`` as a float; ``default`` when absent (required if none given)."""
        if key not in self.data:
            if default is _REQUIRED:
                raise self._missing(key, example, meaning)
            return default  # type: ignore[return-value]
        value = self._checked_number(key, self.data[key], example, meaning)
        if positive and value <= 0:
            raise self.error(
                key,
                f"expected a positive number, got {format_number(value)}",
                f"give {meaning}, e.g. {example}",
            )
        if non_negative and value < 0:
            raise self.error(
                key, f"expected a number >= 0, got {format_number(value)}", f"give {meaning}, e.g. {example}"
            )
        return value

    def integer(
        self,
        key: str,
        example: str,
        meaning: str,
        default: int | object = _REQUIRED,
        minimum: int = 0,
        maximum: int = 1000,
    ) -> int:
        """The whole number ``key`` in ``[minimum, maximum]``."""
        if key not in self.data:
            if default is _REQUIRED:
                raise self._missing(key, example, meaning)
            return default  # type: ignore[return-value]
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                key,
                f"expected a whole number, got {describe_value(value)}",
                f"give {meaning} without a decimal point, e.g. {example}",
            )
        if not minimum <= value <= maximum:
            raise self.error(
                key,
                f"expected a whole number from {minimum} to {maximum}, got {format_number(value)}",
                f"give {meaning}, e.g. {example}",
            )
        return value

    def string(
        self,
        key: str,
        example: str,
        meaning: str,
        default: str | object = _REQUIRED,
        choices: Sequence[str] | None = None,
        non_empty: bool = False,
    ) -> str:
        """The string ``key``; one of ``choices`` when given."""
        if key not in self.data:
            if default is _REQUIRED:
                raise self._missing(key, example, meaning)
            return default  # type: ignore[return-value]
        value = self.data[key]
        if not isinstance(value, str):
            raise self.error(
                key,
                f"expected a string, got {describe_value(value)}",
                f"give {meaning} in double quotes, e.g. {example}",
            )
        if non_empty and not value.strip():
            raise self.error(key, "expected a non-empty string", f"give {meaning}, e.g. {example}")
        if choices is not None and value not in choices:
            options = ", ".join(f'"{choice}"' for choice in choices)
            guess = closest_key(value, choices)
            hint = f'; did you mean "{guess}"?' if guess else ""
            raise self.error(key, f"unknown value {value!r}{hint}", f"use one of {options}, e.g. {example}")
        return value

    # -- vectors ------------------------------------------------------------------------

    def vector(
        self,
        key: str,
        length: int,
        example: str,
        meaning: str,
        default: tuple[float, ...] | object = _REQUIRED,
        positive: bool = False,
    ) -> tuple[float, ...]:
        """The list of ``length`` numbers ``key`` as a tuple of floats."""
        if key not in self.data:
            if default is _REQUIRED:
                raise self._missing(key, example, meaning)
            return default  # type: ignore[return-value]
        value = self.data[key]
        if not isinstance(value, list):
            raise self.error(
                key,
                f"expected a list of {length} numbers, got {describe_value(value)}",
                f"give {meaning}, e.g. {example}",
            )
        if len(value) != length:
            raise self.error(
                key,
                f"expected {length} numbers, got {len(value)}",
                f"give {meaning}, e.g. {example}",
            )
        numbers = tuple(
            self._checked_number(f"{key}[{index}]", item, example, meaning)
            for index, item in enumerate(value)
        )
        if positive:
            for index, number in enumerate(numbers):
                if number <= 0:
                    raise self.error(
                        f"{key}[{index}]",
                        f"expected positive numbers, got {format_number(number)}",
                        f"give {meaning}, e.g. {example}",
                    )
        return numbers

    def number_range(
        self,
        key: str,
        example: str,
        meaning: str,
        default: tuple[float, float] | object = _REQUIRED,
        positive: bool = False,
    ) -> tuple[float, float]:
        """The pair ``[low, high]`` ``key`` with ``low <= high``."""
        low_high = self.vector(key, 2, example, meaning, default, positive)
        low, high = low_high
        if low > high:
            raise self.error(
                key,
                f"the first number {format_number(low)} is larger than the second {format_number(high)}",
                f"give {meaning} as [low, high], e.g. {example}",
            )
        return (low, high)

    def file_path(self, key: str, example: str, meaning: str) -> Path:
        """The path string ``key``, resolved relative to the world file's folder."""
        text = self.string(key, example, meaning, non_empty=True)
        path = Path(text).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path
