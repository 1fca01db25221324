"""``estimated_credits`` has an underscore. Proxies treat such header names with suspicion (nginx
drops *request* headers with underscores unless ``underscores_in_headers on``), so: does the
gateway's response header survive the front doors users put it behind? Measured here with a real
nginx (Debian's ``nginx-light``) in front of the local stack, with its default configuration and
with the one docs/DEPLOY.md gives; and checked statically for the production front door (API
Gateway REST, whose proxy integrations pass response headers through unmapped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from bytespike.local.template import load_template
from tests.support.stack import Stack, free_port

CLAUDE = "claude-haiku-5-5"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# docs/DEPLOY.md, "Behind your own proxy": the location block to copy.
DEPLOY_MD_LOCATION = """
        proxy_pass http://127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_read_timeout 900s;
"""


def _ensure_nginx() -> str | None:
    if Path(NGINX).exists():
        return NGINX
    if os.geteuid() == 0 and shutil.which("apt-get"):  # as the browser tests install chromium
        subprocess.run("apt-get install -y -qq nginx-light || (apt-get update -qq && apt-get install -y -qq nginx-light)",
                       shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    return NGINX if Path(NGINX).exists() else None


def _conf(listen: int, gateway: int, location: str) -> str:
    return f"""
worker_processes 1;
error_log error.log warn;
pid nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
    server {{
        listen 127.0.0.1:{listen};
        location / {{
{location}
        }}
    }}
}}
"""


@pytest.fixture(params=["default", "deploy-md"])
def proxied(request: pytest.FixtureRequest, stack: Stack, tmp_path: Path) -> Iterator[str]:
    exe = _ensure_nginx()
    if exe is None:
        pytest.skip("nginx is absent and Debian's nginx-light could not be installed")
    gateway = urlparse(stack.base_url).port
    port = free_port()
    location = (f"        proxy_pass http://127.0.0.1:{gateway};" if request.param == "default"
                else DEPLOY_MD_LOCATION.format(port=gateway))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(_conf(port, gateway, location))
    proc = subprocess.Popen([exe, "-p", str(tmp_path), "-c", "nginx.conf", "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "error.log").read_text()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_estimated_credits_survives_nginx(stack: Stack, proxied: str) -> None:
    body = {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}
    headers = {"x-api-key": stack.master_key, "anthropic-version": "2023-06-01"}
    direct = httpx.post(f"{stack.base_url}/v1/messages/count_tokens", json=body, headers=headers, timeout=30)
    expected = str(direct.json()["estimated_credits"])
    r = httpx.post(f"{proxied}/v1/messages", json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers.get("estimated_credits") == expected
    with httpx.stream("POST", f"{proxied}/v1/messages", json={**body, "stream": True}, headers=headers,
                      timeout=30) as s:
        assert s.headers.get("estimated_credits") == expected
        assert b"message_stop" in b"".join(s.iter_raw())


def test_the_production_front_door_passes_response_headers_through() -> None:
    """API Gateway REST with proxy integrations forwards the function's response headers as they are;
    a header mapping or a non-proxy integration would be where one could be lost."""
    paths = load_template()["Resources"]["GatewayApi"]["Properties"]["DefinitionBody"]["paths"]
    for path, methods in paths.items():
        integration = methods["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy", path
        assert "responseParameters" not in integration and "responses" not in integration, path
