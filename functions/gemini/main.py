"""Gemini function (streaming, behind the Lambda Web Adapter): /v1beta (Google's Gemini API)."""

from bytespike.http.app import create_app

app = create_app("gemini")
