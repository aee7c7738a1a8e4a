"""How an episode ends. Integer codes so compiled code can return them."""

from __future__ import annotations

NONE = 0
GOAL = 1
COLLISION = 2
OUT_OF_BOUNDS = 3
TIMEOUT = 4

NAMES = {NONE: None, GOAL: "goal", COLLISION: "collision", OUT_OF_BOUNDS: "out_of_bounds", TIMEOUT: "timeout"}
