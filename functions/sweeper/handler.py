"""Sweeper function: scheduled; expires abandoned holds."""

from bytespike.release.sweeper import handler

__all__ = ["handler"]
