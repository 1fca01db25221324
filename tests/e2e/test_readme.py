"""The README's Python examples, run as a newcomer runs them: in a fresh shell that sourced
.bytespike/dev.env, from another directory, with the venv's python that dev.env puts on PATH."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.stack import REPO, Stack


def _block(after_heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index(after_heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run(stack: Stack, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    (cwd / "example.py").write_text(code)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["bash", "-c", f"source {stack.env_file} && python example.py"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_first_requests_example_runs(stack: Stack, tmp_path: Path) -> None:
    proc = _run(stack, _block("## First requests"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    billed = re.findall(r"billed: (\d+) credits", proc.stdout)
    assert len(billed) == 2 and all(int(b) > 0 for b in billed), proc.stdout


def test_the_gemini_api_example_runs_with_nothing_but_dev_env(stack: Stack, tmp_path: Path) -> None:
    """google-genai finds the gateway and the key in dev.env (GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY)."""
    proc = _run(stack, _block("## Gemini API"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = re.findall(r"^(\S+) \| .+ \| estimated: (\d+) credits$", proc.stdout, re.M)
    assert [m for m, _ in found] == ["gemini-3.8-flash", "claude-haiku-5-5"], proc.stdout
    assert all(int(e) > 0 for _, e in found), proc.stdout


def test_the_responses_example_runs(stack: Stack, tmp_path: Path) -> None:
    proc = _run(stack, _block("**OpenAI Responses**"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert int(re.findall(r"billed: (\d+) credits", proc.stdout)[0]) > 0, proc.stdout


def test_the_multimodal_example_shows_the_estimate_and_the_bill_of_each_call(stack: Stack, tmp_path: Path) -> None:
    proc = _run(stack, _block("## Multimodal endpoints"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = re.findall(r"^(\w+)\s+estimated_credits\s+([\d,]+)\s+billed\s+([\d,]+)$", proc.stdout, re.M)
    lines = {w: (int(e.replace(",", "")), int(b.replace(",", ""))) for w, e, b in found}
    assert set(lines) == {"embeddings", "rerank", "image", "speech", "transcription", "video"}, proc.stdout
    for what, (estimated, billed) in lines.items():
        assert 0 < billed <= estimated, (what, estimated, billed)
    # The video no longer spends 15 % of the $10 demo wallet.
    assert lines["video"][1] < 0.06 * 10_000_000
    assert (tmp_path / "boat.mp4").stat().st_size > 0
