#!/bin/sh
# Lambda Web Adapter entry: uvicorn serves the app; LWA streams its response.
export PYTHONPATH="/opt/python:$LAMBDA_TASK_ROOT:$PYTHONPATH"
exec python -m uvicorn --host 127.0.0.1 --port "${PORT:-8000}" --no-access-log --loop uvloop --http httptools main:app
