"""Sweeper function: scheduled; expires abandoned holds."""

from bytespike import snapstart
from bytespike.release.sweeper import handler

__all__ = ["handler"]
snapstart.register_runtime_hooks()
