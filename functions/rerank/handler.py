"""Rerank function (buffered, Mangum): see docs/MEDIA.md."""

from mangum import Mangum

from bytespike import snapstart
from bytespike.http.app import create_app

app = create_app("rerank")
handler = Mangum(app, lifespan="off")
snapstart.register_runtime_hooks()
