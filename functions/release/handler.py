"""Release function: Reservations stream -> exactly-once refunds."""

from bytespike.release.handler import handler

__all__ = ["handler"]
