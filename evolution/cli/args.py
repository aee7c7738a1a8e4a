"""Argument types shared by the ``spikefly`` subcommands: each rejects a bad value with argparse's
one-line usage error (exit 2) before anything runs."""

from __future__ import annotations

import argparse

from spikefly.evolution.settings import MAX_SEED


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def workers(text: str) -> int | str:
    if text == "ray":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a number of processes or 'ray', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def bounded_int(low: int, high: int):
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


seed = bounded_int(0, MAX_SEED)
"""A seed: a whole number from 0 to :data:`spikefly.evolution.settings.MAX_SEED`."""


MAX_EPISODES = 100_000
"""The most episodes one command flies per world (a million would run for days and fill the memory)."""


def episode_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_EPISODES:
        raise argparse.ArgumentTypeError(f"at most {MAX_EPISODES:,} episodes per world, got {value:,}")
    return value
