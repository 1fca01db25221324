"""Video poller function: scheduled; advances open video jobs (settle on completion, release on failure)."""

from bytespike import snapstart
from bytespike.gateway.media.video import poll_handler as handler

__all__ = ["handler"]
snapstart.register_runtime_hooks()
