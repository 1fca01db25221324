"""Alerts function: the Alerts stream (an event's INSERT) and a schedule (retries due) -> deliveries."""

from bytespike import snapstart
from bytespike.alerts.notify import handler

__all__ = ["handler"]
snapstart.register_runtime_hooks()
