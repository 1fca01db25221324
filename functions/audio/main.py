"""Audio function (streaming, behind the Lambda Web Adapter): see docs/MEDIA.md."""

from bytespike.http.app import create_app

app = create_app("audio")
