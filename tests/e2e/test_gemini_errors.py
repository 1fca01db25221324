"""The Gemini surface over real HTTP: Google's error shape on every error path, ``estimated_credits``
on every response, and failures that bill nothing (issue 18).

Every error is ``{"error": {"code", "message", "status"}}`` with ``code`` the HTTP status (what
google-genai raises as ``ClientError`` / ``ServerError`` and Gemini CLI prints): missing or wrong
key, ``?key=``, an unknown model, bad JSON, an empty wallet (402), an upstream 429 (with Google's
``RetryInfo``), an upstream 5xx, and a mid-stream failure in both stream framings. Both lanes
are driven: a Gemini model (the byte pass-through) and a Claude one (through the hub).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.stack import Org, Stack

GEMINI = "gemini-3.5-flash-lite"
CLAUDE = "claude-haiku-5-5"
EMBED = "gemini-embedding-001"
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


def _url(stack: Stack, model: str, method: str = "generateContent") -> str:
    return f"{stack.base_url}/v1beta/models/{model}:{method}"


def _body(text: str, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": {"maxOutputTokens": 64},
            **extra}


def _google_error(r: httpx.Response, status: int, mentions: str | None = None) -> dict[str, Any]:
    """The response is Google's error object for ``status``, with the estimated_credits header."""
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"], body
    err = body["error"]
    assert err["code"] == status and isinstance(err["message"], str) and err["message"], err
    if status in GOOGLE_STATUS:
        assert err["status"] == GOOGLE_STATUS[status], err
    else:
        assert isinstance(err["status"], str) and err["status"], err
    if mentions:
        assert mentions in err["message"], err
    assert int(r.headers["estimated_credits"]) >= 0
    return err


def _nothing_billed(stack: Stack, org: Org) -> None:
    """Every hold released at cost 0 and the wallet whole (the release runs off the table's stream)."""
    assert all(r["state"] == "FAILED" and int(r.get("cost", 0)) == 0 for r in stack.wait_all_released(org.org_id))
    assert stack.wallet(org.org_id)["balance"] == org.topped_up


@pytest.fixture
def org(stack: Stack) -> Org:
    return stack.new_org(5_000_000)


# ---------------------------------------------------------------- auth
@pytest.mark.parametrize("path", ["/v1beta/models", f"/v1beta/models/{GEMINI}"])
def test_model_reads_need_no_more_than_the_url_and_refuse_a_key_in_it(stack: Stack, path: str) -> None:
    r = httpx.get(stack.base_url + path, params={"key": "AIzaSyFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0"}, timeout=10)
    err = _google_error(r, 401, "query parameter 'key'")
    assert "AIza" not in err["message"]


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize("method", ["generateContent", "streamGenerateContent", "countTokens"])
def test_auth_errors_are_googles(stack: Stack, org: Org, model: str, method: str) -> None:
    url = _url(stack, model, method)
    _google_error(httpx.post(url, json=_body(org.org_id), timeout=10), 401, "Missing API key")
    _google_error(httpx.post(url, json=_body(org.org_id), headers={"x-goog-api-key": "sk-bs-not-a-key"}, timeout=10),
                  401)
    r = httpx.post(url, json=_body(org.org_id), params={"key": org.master_key}, timeout=10)
    err = _google_error(r, 401, "x-goog-api-key")
    assert org.master_key not in r.text and "query parameter 'key'" in err["message"]
    other = stack.new_org(1)
    r = httpx.post(url, json=_body(org.org_id), timeout=10,
                   headers={"x-goog-api-key": org.master_key, "authorization": f"Bearer {other.master_key}"})
    _google_error(r, 401, "More than one API key")
    # Authorization: Bearer alone is a key too (Google's OAuth header, as some clients send it).
    ok = httpx.post(url, json=_body(org.org_id), headers={"authorization": f"Bearer {org.master_key}"}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert "estimated_credits" in ok.headers


# ---------------------------------------------------------------- client mistakes
@pytest.mark.parametrize("method", ["generateContent", "streamGenerateContent", "countTokens", "embedContent"])
def test_unknown_model_is_googles_404(stack: Stack, org: Org, method: str) -> None:
    r = httpx.post(_url(stack, "gemini-0-nonexistent", method), json=_body("x"),
                   headers={"x-goog-api-key": org.master_key}, timeout=10)
    _google_error(r, 404, "models/gemini-0-nonexistent is not found")
    r = httpx.get(f"{stack.base_url}/v1beta/models/gemini-0-nonexistent", headers={"x-goog-api-key": org.master_key},
                  timeout=10)
    _google_error(r, 404, "is not found")
    _nothing_billed(stack, org)


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"", b"\xff\xfe"])
def test_bad_json_is_googles_400_and_nothing_is_held(stack: Stack, org: Org, model: str, raw: bytes) -> None:
    for method in ("generateContent", "streamGenerateContent"):
        r = httpx.post(_url(stack, model, method), content=raw, timeout=10,
                       headers={"x-goog-api-key": org.master_key, "content-type": "application/json"})
        _google_error(r, 400)
    assert stack.reservations(org.org_id) == []
    _nothing_billed(stack, org)


def test_a_model_of_another_modality_is_refused_in_googles_words(stack: Stack, org: Org) -> None:
    r = httpx.post(_url(stack, EMBED), json=_body("x"), headers={"x-goog-api-key": org.master_key}, timeout=10)
    _google_error(r, 404, "generateContent")
    r = httpx.post(_url(stack, CLAUDE, "embedContent"), json={"content": {"parts": [{"text": "x"}]}},
                   headers={"x-goog-api-key": org.master_key}, timeout=10)
    _google_error(r, 404, "embedContent")


# ---------------------------------------------------------------- money and upstream failures
@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_an_empty_wallet_is_googles_402(stack: Stack, model: str) -> None:
    org = stack.new_org(0)
    for method in ("generateContent", "streamGenerateContent"):
        r = httpx.post(_url(stack, model, method), json=_body(org.org_id), headers={"x-goog-api-key": org.master_key},
                       timeout=10)
        _google_error(r, 402)
        assert int(r.headers["estimated_credits"]) > 0  # the hold it would have needed
    assert stack.sim_requests(org.org_id) == []


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize(("directive", "status"), [("[[sim status=429 retry_after=3]]", 429),
                                                   ("[[sim status=500]]", 502), ("[[sim status=503]]", 503)])
def test_upstream_errors_are_googles_and_free(stack: Stack, org: Org, model: str, directive: str, status: int) -> None:
    for method in ("generateContent", "streamGenerateContent"):
        r = httpx.post(_url(stack, model, method), json=_body(f"{org.org_id} {directive}"),
                       headers={"x-goog-api-key": org.master_key}, timeout=60)
        assert r.status_code in (status, 503 if status == 502 else status, 502), r.text
        err = _google_error(r, r.status_code)
        if r.status_code == 429:
            assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"} in err.get("details", [])
            assert r.headers["retry-after"] == "3"
        assert int(r.headers["estimated_credits"]) > 0
    _nothing_billed(stack, org)


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize("sse", [True, False])
def test_a_mid_stream_failure_ends_with_googles_error_chunk(stack: Stack, org: Org, model: str, sse: bool) -> None:
    r = httpx.post(_url(stack, model, "streamGenerateContent"), params={"alt": "sse"} if sse else None,
                   json=_body(f"{org.org_id} [[sim error_after=2 words=40]]"),
                   headers={"x-goog-api-key": org.master_key}, timeout=60)
    assert r.status_code == 200
    assert int(r.headers["estimated_credits"]) > 0
    if sse:
        assert r.headers["content-type"].startswith("text/event-stream")
        chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    else:
        assert r.headers["content-type"].startswith("application/json")
        chunks = json.loads(r.text)
    last = chunks[-1]
    assert list(last) == ["error"], last
    code = last["error"]["code"]
    assert isinstance(code, int) and (code >= 500 or code == 429), last
    assert isinstance(last["error"]["message"], str) and isinstance(last["error"]["status"], str)
    assert [c for c in chunks[:-1] if "candidates" in c], "content before the failure reached the client"
    _nothing_billed(stack, org)


# ---------------------------------------------------------------- estimated_credits on every answer
def test_estimated_credits_on_every_gemini_answer(stack: Stack, org: Org) -> None:
    headers = {"x-goog-api-key": org.master_key}
    base = f"{stack.base_url}/v1beta/models"
    answers = {
        "list": httpx.get(base, headers=headers, timeout=10),
        "get": httpx.get(f"{base}/{GEMINI}", headers=headers, timeout=10),
        "count": httpx.post(_url(stack, CLAUDE, "countTokens"), json=_body("hello"), headers=headers, timeout=30),
        "embed": httpx.post(_url(stack, EMBED, "embedContent"), json={"content": {"parts": [{"text": "hello"}]}},
                            headers=headers, timeout=30),
        "batch": httpx.post(_url(stack, EMBED, "batchEmbedContents"), timeout=30, headers=headers,
                            json={"requests": [{"model": f"models/{EMBED}", "content": {"parts": [{"text": "a"}]}}]}),
    }
    for model in (GEMINI, CLAUDE):
        answers[f"generate {model}"] = httpx.post(_url(stack, model), json=_body("hi"), headers=headers, timeout=30)
        answers[f"stream {model}"] = httpx.post(_url(stack, model, "streamGenerateContent"), params={"alt": "sse"},
                                                json=_body("hi"), headers=headers, timeout=30)
        answers[f"array {model}"] = httpx.post(_url(stack, model, "streamGenerateContent"), json=_body("hi"),
                                               headers=headers, timeout=30)
    for name, r in answers.items():
        assert r.status_code == 200, (name, r.text[:300])
        assert "estimated_credits" in r.headers, name
        assert int(r.headers["estimated_credits"]) >= 0
    assert answers["count"].json()["estimatedCredits"] == int(answers["count"].headers["estimated_credits"]) > 0
    assert int(answers["embed"].headers["estimated_credits"]) > 0
    for model in (GEMINI, CLAUDE):
        billed = answers[f"generate {model}"].json()["usageMetadata"]["credits"]
        assert 0 < billed <= int(answers[f"generate {model}"].headers["estimated_credits"])
        assert isinstance(json.loads(answers[f"array {model}"].text), list)


# ---------------------------------------------------------------- safetySettings: where they apply
SAFETY = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}]


def test_safety_settings_reach_gemini_and_are_dropped_elsewhere(stack: Stack, org: Org) -> None:
    """Gemini models get the client's safetySettings (the pass-through keeps its bytes); a Claude model
    answers the same request (Claude has no such setting: dropped and logged, not refused)."""
    for model in (GEMINI, CLAUDE):
        tag = f"{org.org_id}-{model}"
        r = httpx.post(_url(stack, model), json=_body(tag, safetySettings=SAFETY),
                       headers={"x-goog-api-key": org.master_key}, timeout=30)
        assert r.status_code == 200, r.text
        [sent] = stack.sim_requests(tag)
        if model == GEMINI:
            assert sent["body"]["safetySettings"] == SAFETY
        else:
            assert "safetySettings" not in json.dumps(sent["body"]) and "HARM_CATEGORY" not in json.dumps(sent["body"])
    r = httpx.post(_url(stack, CLAUDE), json=_body(org.org_id, safetySettings={"category": "x"}),
                   headers={"x-goog-api-key": org.master_key}, timeout=30)
    _google_error(r, 400, "safety_settings")


def test_a_model_id_with_a_colon_is_not_a_gemini_method_on_get(stack: Stack, org: Org) -> None:
    """``/v1/models/{id}`` is shared: a GET of an id with a colon (found by schemathesis) is the caller's
    own shape, not Google's; only a POST ``/v1/models/{model}:method`` or ``x-goog-api-key`` is Google's."""
    r = httpx.get(f"{stack.base_url}/v1/models/a:b", timeout=10,
                  headers={"x-api-key": org.master_key, "anthropic-version": "2023-06-01"})
    assert r.status_code == 404 and r.json()["type"] == "error", r.text
    r = httpx.get(f"{stack.base_url}/v1/models/a:b", headers={"x-goog-api-key": org.master_key}, timeout=10)
    _google_error(r, 404)
