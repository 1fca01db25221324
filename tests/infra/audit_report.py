"""`make audit`: pip-audit of the pinned lock files, reported honestly.

pip-audit prints "No known vulnerabilities found" even when it could look up none of the
packages (every one "not found on PyPI and could not be audited", as on a package mirror that
serves no per-release JSON); that line would read as a clean audit. This wrapper runs pip-audit
for its JSON report only and says what was and was not checked:

- a known vulnerability in any pinned version: listed, exit 1 (the build fails);
- packages that could not be audited: a loud ``NOT AUDITED: N packages`` banner with the names and
  the reason, written also to ``.audit-summary`` so that ``make test`` repeats it as its last
  output (CI's log ends with it); exit 0, because a build machine that reaches only a package
  mirror cannot fetch advisories and CI must still run there - unless ``AUDIT_STRICT=1``, which
  makes an incomplete audit fail (for CI machines that reach the advisory service);
- "no known vulnerabilities" is said only of the packages that were audited, with their count.

Usage: python tests/infra/audit_report.py PIP_AUDIT -r requirements.lock -r layers/shared/requirements.txt
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY = Path(".audit-summary")
RULE = "#" * 78


@dataclass
class Audit:
    audited: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name version, reason)
    vulnerable: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.audited) + len(self.skipped)


def parse(report: dict[str, Any]) -> Audit:
    """pip-audit's JSON (``{"dependencies": [{name, version, vulns} | {name, skip_reason}]}``)."""
    out = Audit()
    for dep in report.get("dependencies", []):
        version = dep.get("version") or ""
        reason = str(dep.get("skip_reason") or "")
        if not version and reason.endswith(")") and "(" in reason:  # "... could not be audited: name (1.2.3)"
            version = reason.rsplit("(", 1)[1][:-1]
        label = f"{dep.get('name')} {version}".strip()
        if dep.get("skip_reason"):
            out.skipped.append((label, str(dep["skip_reason"])))
            continue
        out.audited.append(label)
        if dep.get("vulns"):
            out.vulnerable.append((label, dep["vulns"]))
    return out


def _reason(text: str) -> str:
    """A skip reason without the package's own name, so equal reasons group."""
    return text.split(":")[0].strip() if ":" in text else text


def render(audit: Audit, strict: bool) -> tuple[list[str], int]:
    """(lines to print, exit code). Never claims a clean audit for a package it did not check."""
    lines: list[str] = []
    code = 0
    for label, vulns in audit.vulnerable:
        for v in vulns:
            fixes = ", ".join(v.get("fix_versions") or []) or "no fixed version yet"
            lines.append(f"VULNERABLE: {label}: {v.get('id')} (fixed in: {fixes})")
        code = 1
    clean = len(audit.audited) - len(audit.vulnerable)
    if audit.audited:
        lines.append(f"audited {len(audit.audited)} of {audit.total} pinned packages: "
                     f"{len(audit.vulnerable)} with known vulnerabilities, {clean} without")
    else:
        lines.append(f"audited 0 of {audit.total} pinned packages")
    if audit.skipped:
        reasons = Counter(_reason(r) for _, r in audit.skipped)
        lines += [RULE, f"NOT AUDITED: {len(audit.skipped)} packages (of {audit.total} pinned) - their advisories "
                        "could not be fetched, so nothing is known about them",
                  *(f"  reason ({n}): {reason}" for reason, n in reasons.most_common()),
                  "  " + ", ".join(label for label, _ in audit.skipped),
                  "  run `make audit` on a machine that reaches the advisory service (AUDIT_STRICT=1 fails on this)",
                  RULE]
        if strict:
            code = code or 3
    return lines, code


def main(argv: list[str]) -> int:
    pip_audit, *requirements = argv
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        proc = subprocess.run([pip_audit, "--progress-spinner", "off", "--no-deps", "--disable-pip", *requirements,
                               "--format", "json", "--output", str(report_path)],
                              capture_output=True, text=True, check=False)
        if not report_path.exists() or not report_path.read_text().strip():
            # pip-audit could not run at all: show why (minus any verdict line), and fail.
            for line in (proc.stdout + proc.stderr).splitlines():
                if "No known vulnerabilities" not in line:
                    print(line, file=sys.stderr)
            print(f"{RULE}\nNOT AUDITED: pip-audit failed (exit {proc.returncode}) before auditing anything\n{RULE}")
            SUMMARY.write_text("NOT AUDITED: pip-audit failed before auditing anything\n")
            return 2
        report = json.loads(report_path.read_text())
    lines, code = render(parse(report), strict=os.environ.get("AUDIT_STRICT") == "1")
    print("\n".join(lines))
    SUMMARY.write_text("\n".join(line for line in lines if not line.startswith("  ") or "reason" in line) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
