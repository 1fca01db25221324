"""The playground: a page at ``/`` where anyone tries a model, and its API under ``/playground/``.

Free runs (no key) run through the normal gateway pipeline with a house org's key that
never leaves the server, limited to ``free_tier`` catalog models, a ``max_tokens`` cap and
N runs per client IP per UTC day (a conditional DynamoDB counter taken before the run).
With a pasted key the page calls ``/v1/messages`` / ``/v1/chat/completions`` directly.
See docs/PLAYGROUND.md.
"""
