"""Chat function (streaming, behind the Lambda Web Adapter): /v1/chat/completions."""

from bytespike.http.app import create_app

app = create_app("chat")
