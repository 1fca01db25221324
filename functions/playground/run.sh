#!/bin/sh
# Lambda Web Adapter entry: uvicorn serves the app; LWA streams its response.
# --no-proxy-headers: the client address comes from the adapter's x-amzn-request-context, never X-Forwarded-For.
export PYTHONPATH="/opt/python:$LAMBDA_TASK_ROOT:$PYTHONPATH"
exec python -m uvicorn --host 127.0.0.1 --port "${PORT:-8000}" --no-access-log --no-proxy-headers --loop uvloop --http httptools main:app
