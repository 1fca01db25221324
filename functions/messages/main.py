"""Messages function (streaming, behind the Lambda Web Adapter): /v1/messages, count_tokens, /v1/models."""

from bytespike.http.app import create_app

app = create_app("messages")
