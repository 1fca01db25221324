"""The path table: which function serves which path, in production and in the local stack.

One table, read by the app factory (which routes each function registers), the local
stack's dispatcher (one port for every function) and the front-door checks (issue #8).
Order matters: the first matching prefix wins.
"""

from __future__ import annotations

# (path prefix, function name). A prefix matches the path itself and anything under it.
PATH_TABLE: tuple[tuple[str, str], ...] = (
    ("/v1/messages", "messages"),
    ("/v1/models", "messages"),
    ("/v1/chat/completions", "chat"),
    ("/v1/responses", "responses"),
    ("/v1beta", "gemini"),  # Google's Gemini API (Gemini CLI, google-genai): models and their :methods
    ("/v1/embeddings", "embeddings"),
    ("/v1/rerank", "rerank"),
    ("/v1/images", "images"),
    ("/v1/audio", "audio"),
    ("/v1/videos", "video"),
    ("/v1/orgs", "admin"),
    ("/v1/keys", "admin"),
    ("/v1/usage", "admin"),
    ("/v1/alerts", "admin"),  # alert rules and events (bytespike/alerts/)
    ("/console", "admin"),  # the console page for orgs (bytespike/console/)
    ("/openapi.json", "admin"),  # the gateway's whole OpenAPI document (http/openapi.py)
    ("/playground", "playground"),
    ("/", "playground"),
)


def function_for(path: str) -> str | None:
    for prefix, function in PATH_TABLE:
        if prefix == "/":
            if path == "/" or path.startswith("/playground"):
                return function
            continue
        if path == prefix or path.startswith(prefix + "/"):
            return function
    return None
