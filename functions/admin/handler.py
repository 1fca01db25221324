"""Admin function (buffered, Mangum): /v1/usage..., and the org/key admin API."""

from mangum import Mangum

from bytespike import snapstart
from bytespike.http.app import create_app

app = create_app("admin")
handler = Mangum(app, lifespan="off")
snapstart.register_runtime_hooks()
