"""How keys travel, and what browsers may do with the API.

- A key in the URL is refused on every endpoint that takes a key (URLs end up in access
  logs, browser history and Referer headers), under any credential-like parameter name. /v1/messages with each parameter name:
  tests/faults/test_malformed_bodies.py::test_bad_headers and
  tests/e2e/test_bad_input.py::test_key_in_query_string_refused; here, every endpoint.
- No CORS: the API sends no ``Access-Control-Allow-*`` header, so a web page on another
  origin cannot call it with a visitor's key (preflights fail, responses are unreadable).
  The playground is same-origin and its page forbids framing and foreign scripts.
- The playground's free-run count cannot be reset with forged forwarding headers:
  tests/e2e/test_playground.py::test_forged_forwarding_headers_do_not_reset_the_count
  (over HTTP) and tests/e2e/test_playground_ip.py (each deployment's trusted source).
"""

from __future__ import annotations

import httpx
import pytest

from tests.security.test_secrets_in_responses import all_routes
from tests.support.stack import Stack, next_client_ip

# Paths that take no key at all (public catalog, the playground, health).
NO_KEY = ("/v1/models", "/playground", "/healthz", "/console")


def _keyed_routes() -> list[tuple[str, str]]:
    return [(m, p) for m, p in all_routes() if p != "/" and not p.startswith(NO_KEY)]


def _fill(path: str) -> str:
    return (path.replace("{model_id:path}", "claude-haiku-5-5").replace("{org_id}", "org-x")
            .replace("{key_id}", "key_x").replace("{request_id}", "req_x").replace("{video_id}", "video_x"))


# Any name that looks like a credential, however spelled (issue #15: only five exact names were
# refused); the full list and the classifier: tests/security/test_credentials.py.
@pytest.mark.parametrize("param", ["key", "api_key", "apikey", "access_token", "token", "API_KEY", "x-api-key",
                                   "Authorization"])
def test_a_key_in_the_url_is_refused_on_every_keyed_endpoint(stack: Stack, param: str) -> None:
    org = stack.new_org(1_000)
    routes = _keyed_routes()
    assert len(routes) >= 20
    wrong = []
    for method, path in routes:
        r = httpx.request(method, f"{stack.base_url}{_fill(path)}?{param}={org.master_key}", timeout=30,
                          json={} if method == "POST" else None)
        if r.status_code != 401 or "URL" not in r.text:
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)
    assert stack.reservations(org.org_id) == []


def test_no_cors_for_foreign_origins(stack: Stack) -> None:
    evil = "https://evil.example"
    preflight = {"origin": evil, "access-control-request-method": "POST",
                 "access-control-request-headers": "x-api-key,content-type"}
    for path in ("/v1/messages", "/v1/chat/completions", "/v1/keys", "/v1/orgs", "/playground/run"):
        r = httpx.options(stack.base_url + path, headers=preflight, timeout=30)
        assert r.status_code >= 400, (path, r.status_code)
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], (path, dict(r.headers))
    r = httpx.get(stack.base_url + "/v1/models", headers={"origin": evil}, timeout=30)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = httpx.post(stack.base_url + "/v1/messages", headers={"origin": evil, "x-api-key": stack.master_key},
                   json={"model": "claude-haiku-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                   timeout=30)
    assert r.status_code == 200 and not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_the_playground_page_cannot_be_framed_or_run_foreign_script(stack: Stack) -> None:
    with stack.http_from(next_client_ip(), timeout=30) as client:
        for path in ("/", "/playground", "/playground/static/app.js"):
            r = client.get(path)
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
