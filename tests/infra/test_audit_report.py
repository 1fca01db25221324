"""`make audit` tells the truth (issue #15, finding 8): packages whose advisories could not be fetched
are "NOT AUDITED", loudly, and "no known vulnerabilities" is never said of what was not checked.

Before: pip-audit reported 113 packages "could not be audited" and still printed "No known
vulnerabilities found", and `make audit` passed with that as its last word.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.infra.audit_report import parse, render

SCRIPT = Path(__file__).with_name("audit_report.py")
SKIP = "Dependency not found on PyPI and could not be audited: {} ({})"


def _report(audited: dict[str, list[dict]], skipped: list[str]) -> dict:
    deps = [{"name": n, "version": "1.0", "vulns": v} for n, v in audited.items()]
    deps += [{"name": n, "skip_reason": SKIP.format(n, "1.0")} for n in skipped]
    return {"dependencies": deps, "fixes": []}


def test_nothing_audited_is_not_audited_and_never_clean() -> None:
    lines, code = render(parse(_report({}, ["aioboto3", "boto3", "fastapi"])), strict=False)
    text = "\n".join(lines)
    assert "NOT AUDITED: 3 packages (of 3 pinned)" in text and "audited 0 of 3" in text
    assert "No known vulnerabilities" not in text and "no known" not in text.lower()
    assert "aioboto3 1.0, boto3 1.0, fastapi 1.0" in text and "reason (3): Dependency not found on PyPI" in text
    assert code == 0  # loud, not fatal: a mirror-only CI machine cannot fetch advisories
    assert render(parse(_report({}, ["boto3"])), strict=True)[1] == 3  # AUDIT_STRICT=1


def test_a_known_vulnerability_fails_and_partial_audits_say_how_partial() -> None:
    vuln = [{"id": "PYSEC-2099-1", "fix_versions": ["1.1"], "description": "x"}]
    lines, code = render(parse(_report({"bad": vuln, "good": []}, ["unknown"])), strict=False)
    text = "\n".join(lines)
    assert code == 1 and "VULNERABLE: bad 1.0: PYSEC-2099-1 (fixed in: 1.1)" in text
    assert "audited 2 of 3 pinned packages: 1 with known vulnerabilities, 1 without" in text
    assert "NOT AUDITED: 1 packages" in text


def test_a_complete_clean_audit_says_so_with_its_count() -> None:
    lines, code = render(parse(_report({"a": [], "b": []}, [])), strict=True)
    assert code == 0 and lines == ["audited 2 of 2 pinned packages: 0 with known vulnerabilities, 2 without"]


def test_the_wrapper_hides_pip_audits_misleading_verdict(tmp_path: Path) -> None:
    """End to end with a stand-in pip-audit that behaves as the real one does on this mirror:
    every package skipped, JSON written, "No known vulnerabilities found" printed, exit 0."""
    report = _report({}, [f"pkg{i}" for i in range(113)])
    fake = tmp_path / "pip-audit"
    fake.write_text("#!/usr/bin/env python3\nimport sys, json\n"
                    "out = sys.argv[sys.argv.index('--output') + 1]\n"
                    f"open(out, 'w').write({json.dumps(json.dumps(report))})\n"
                    "print('No known vulnerabilities found', file=sys.stderr)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = subprocess.run([sys.executable, str(SCRIPT), str(fake), "-r", "requirements.lock"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, env={**os.environ, "AUDIT_STRICT": ""})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "NOT AUDITED: 113 packages" in out and "No known vulnerabilities" not in out
    summary = (tmp_path / ".audit-summary").read_text()
    assert "NOT AUDITED: 113 packages" in summary and "No known" not in summary
    strict = subprocess.run([sys.executable, str(SCRIPT), str(fake), "-r", "requirements.lock"], cwd=tmp_path,
                            capture_output=True, text=True, check=False, env={**os.environ, "AUDIT_STRICT": "1"})
    assert strict.returncode == 3
