"""What every layer of spikefly shares and nothing of ours is imported by: the error root."""

from spikefly.core.errors import SpikeflyError

__all__ = ["SpikeflyError"]
