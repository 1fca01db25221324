"""Secrets are compared in constant time, and keys are stored and looked up only as digests.

The static test walks every module under ``src/bytespike`` and fails on an ``==`` / ``!=``
between two runtime values where one of them is named like a secret (``secret``,
``api_key``, ``password``, ``credential``, ``token``, ``…_key``, the ``x-api-key`` /
``authorization`` headers). Such a comparison must be ``hmac.compare_digest`` on digests
(the operator credential) or a lookup by digest (API keys).
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import re
from pathlib import Path

import pytest

from bytespike.admin import operator
from bytespike.store import keys

SRC = Path(__file__).resolve().parents[2] / "src" / "bytespike"
SENSITIVE = re.compile(r"secret|passw|api_?key|credential|bearer|(^|_)token$|(^|_)key$|^x-api-key$|^authorization$",
                       re.IGNORECASE)
# The upstream simulator is a test double that guards nothing (it rejects one public sentinel key).
EXCLUDED_DIRS = {"simulator"}
# (module, identifier): compared with == on purpose, and why that is safe.
ALLOWED = {
    ("store/ledger.py", "hold_token"): "a nonce this process generated, matched against its own write; no caller presents it",
    ("store/dynamo.py", "access_key"): "the AWS access key *id* (public), to know when to re-derive the signing key",
}


def _leaf(node: ast.expr) -> str | None:
    """The name an operand is known by: ``a.b`` -> b, ``x["k"]`` / ``x.get("k")`` -> k, ``n`` -> n."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def secret_comparisons(source: str) -> list[tuple[int, str, str]]:
    """(line, identifier, code) of each ``==``/``!=`` between two runtime values, one named like a secret."""
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq):
                continue
            if isinstance(left, ast.Constant) or isinstance(right, ast.Constant):
                continue  # a literal (None, "bearer ", a header name) is not a secret
            for side in (left, right):
                name = _leaf(side)
                if name and SENSITIVE.search(name):
                    found.append((node.lineno, name, ast.unparse(node)))
                    break
    return found


def test_scanner_flags_plain_secret_comparisons() -> None:
    """The scanner itself: it sees the mistakes it is meant to see, and not the right way."""
    bad = ("def f(presented, cfg, request, secret):\n"
           "    a = presented == cfg.operator_key\n"
           "    b = request.headers['x-api-key'] != secret\n"
           "    c = request.headers.get('authorization') == cfg.token\n")
    assert [name for _, name, _ in secret_comparisons(bad)] == ["operator_key", "x-api-key", "authorization"]
    good = ("import hmac\n"
            "def f(presented, expected, auth, key, record):\n"
            "    a = hmac.compare_digest(presented, expected)\n"
            "    b = auth[:7].lower() == 'bearer '\n"
            "    c = key.org_id == record.org_id and presented is None\n")
    assert secret_comparisons(good) == []


def test_no_secret_is_compared_with_equality_in_src() -> None:
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.split("/", 1)[0] in EXCLUDED_DIRS:
            continue
        for line, name, code in secret_comparisons(path.read_text()):
            if (rel, name) not in ALLOWED:
                offenders.append(f"src/bytespike/{rel}:{line}: {code}")
    assert not offenders, "compare secrets with hmac.compare_digest (or look them up by digest):\n" + "\n".join(offenders)


def test_operator_credential_is_compared_with_compare_digest_on_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """``operator.matches`` hashes both sides and compares the digests with ``hmac.compare_digest``
    (so neither the content nor the length is compared in the clear)."""
    secret = "op-" + "s" * 40
    monkeypatch.delenv(operator.PARAM_ENV, raising=False)
    monkeypatch.setenv(operator.VALUE_ENV, secret)
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(operator.hmac, "compare_digest", spy)
    assert operator.matches(secret) and not operator.matches(secret[:-1]) and not operator.matches("x" * 500)
    expected = hashlib.sha256(secret.encode()).digest()
    assert len(calls) == 3 and all(b == expected and len(a) == 32 for a, b in calls)


def test_api_keys_are_stored_and_looked_up_only_as_sha256_digests() -> None:
    """What the Keys table holds for a key: its digest as the item key, never the secret.
    (Over HTTP against DynamoDB: tests/e2e/test_admin_keys.py::test_secrets_appear_only_at_creation_and_rotation.)"""
    secret = keys.new_secret()
    assert secret.startswith(keys.KEY_PREFIX) and len(secret) >= 40
    record = keys.KeyRecord(digest=keys.digest(secret), key_id="key_x", org_id="org-x", kind="master", member_id="o")
    item = record.to_item()
    assert item["pk"] == {"S": "KEY#" + hashlib.sha256(secret.encode()).hexdigest()}
    assert secret not in str(item) and secret[len(keys.KEY_PREFIX):] not in str(item)
    assert record.digest_prefix == record.digest[:8] and secret not in repr(record)
