"""Responses function (streaming, behind the Lambda Web Adapter): /v1/responses."""

from bytespike.http.app import create_app

app = create_app("responses")
