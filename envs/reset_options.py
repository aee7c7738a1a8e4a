"""The options both environments' ``reset(options=...)`` take, checked the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESET_OPTIONS = ("world",)
"""``{"world": name_or_path}``: fly (or listen to) another world of the env's kind from this episode on."""


def reset_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` as a dict, or a ValueError naming the unknown keys and the valid ones."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(RESET_OPTIONS))
    if unknown:
        raise ValueError(f"reset(options=...): unknown option(s) {unknown}; valid: {list(RESET_OPTIONS)}")
    return options
