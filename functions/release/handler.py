"""Release function: Reservations stream -> exactly-once refunds."""

from bytespike import snapstart
from bytespike.release.handler import handler

__all__ = ["handler"]
snapstart.register_runtime_hooks()
