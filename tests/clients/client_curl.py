"""curl: the raw HTTP a user copies from the docs, on both surfaces, streamed and not.

The tool round trip is what a script around curl does: the first call streams (``curl -N``) and
the model asks for ``read_note``; the script reads the file and sends the result in a second,
non-streamed call, whose answer quotes it. The SSE and JSON are parsed here, from curl's stdout,
exactly as received.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from typing import Any

from tests.clients.harness import PROVIDER_MODELS, Case, Client, Outcome, RunEnv

TOOL = {"name": "read_note", "description": "Read a note file from the working directory",
        "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}


def _curl(url: str, headers: dict[str, str], body: dict[str, Any], *, stream: bool) -> str:
    command = ["curl", "-sS", "--fail-with-body", "--max-time", "120", *(["-N"] if stream else []), url,
               "-H", "content-type: application/json", *[a for k, v in headers.items() for a in ("-H", f"{k}: {v}")],
               "--data-binary", "@-"]
    proc = subprocess.run(command, input=json.dumps(body), capture_output=True, text=True, timeout=150)
    if proc.returncode != 0:
        raise RuntimeError(f"curl exit {proc.returncode}: {proc.stdout[-1500:]} {proc.stderr[-500:]}")
    return proc.stdout


def _data(sse: str) -> list[str]:
    return [line[5:].strip() for line in sse.replace("\r\n", "\n").split("\n") if line.startswith("data:")]


class Curl(Client):
    name = "curl"

    def installed(self) -> bool:
        return shutil.which("curl") is not None

    def install(self) -> str:
        return "ok" if self.installed() else "missing"

    def cases(self) -> list[Case]:
        return [Case(self.name, provider, model, surface)
                for surface in ("anthropic", "openai") for provider, model in PROVIDER_MODELS.items()]

    def run(self, case: Case, env: RunEnv) -> Outcome:
        started = time.monotonic()
        headers = {"x-session-id": f"curl-{env.marker}"}
        credits: list[int] = []
        if case.variant == "anthropic":
            url = env.base_url + "/v1/messages"
            headers |= {"x-api-key": env.api_key, "anthropic-version": "2023-06-01"}
            messages: list[dict[str, Any]] = [{"role": "user", "content": env.prompt()}]
            body = {"model": case.model, "max_tokens": 1024, "tools": [TOOL], "messages": messages, "stream": True}
            events = [json.loads(d) for d in _data(_curl(url, headers, body, stream=True))]
            errors = [e for e in events if e.get("type") == "error"]
            if errors:
                return Outcome(error=json.dumps(errors[0]), answer="", tool_calls=[], tool_results=[])
            blocks: dict[int, dict[str, Any]] = {}
            args: dict[int, str] = {}
            for e in events:
                if e["type"] == "content_block_start":
                    blocks[e["index"]] = e["content_block"]
                elif e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta":
                    args[e["index"]] = args.get(e["index"], "") + e["delta"]["partial_json"]
                elif e["type"] == "message_delta":
                    credits.append(e["usage"]["credits"])
            calls = [(blocks[i]["id"], blocks[i]["name"], json.loads(args.get(i) or "{}"))
                     for i in sorted(blocks) if blocks[i]["type"] == "tool_use"]
            results = [(env.workdir / c[2]["name"]).read_text() for c in calls]
            assistant = [blocks[i] | ({"input": json.loads(args[i])} if i in args else {}) for i in sorted(blocks)]
            messages += [{"role": "assistant", "content": assistant},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": c[0], "content": r}
                                                      for c, r in zip(calls, results, strict=True)]}]
            answer = json.loads(_curl(url, headers, {**body, "stream": False}, stream=False))
            credits.append(answer["usage"]["credits"])
            text = "".join(b.get("text", "") for b in answer["content"] if b["type"] == "text")
        else:
            url = env.base_url + "/v1/chat/completions"
            headers |= {"authorization": f"Bearer {env.api_key}"}
            tool = {"type": "function", "function": {"name": TOOL["name"], "description": TOOL["description"],
                                                     "parameters": TOOL["input_schema"]}}
            messages = [{"role": "user", "content": env.prompt()}]
            body = {"model": case.model, "tools": [tool], "messages": messages, "stream": True,
                    "stream_options": {"include_usage": True}}
            frames = _data(_curl(url, headers, body, stream=True))
            if frames[-1] != "[DONE]":
                return Outcome(error=frames[-1], answer="", tool_calls=[], tool_results=[])
            chunks = [json.loads(f) for f in frames[:-1]]
            calls_by_index: dict[int, dict[str, Any]] = {}
            for c in chunks:
                if c.get("usage") and c["usage"].get("credits") is not None:
                    credits.append(c["usage"]["credits"])
                for choice in c.get("choices") or ():
                    for tc in (choice.get("delta") or {}).get("tool_calls") or ():
                        slot = calls_by_index.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
                        slot["id"] = tc.get("id") or slot["id"]
                        slot["name"] += (tc.get("function") or {}).get("name") or ""
                        slot["arguments"] += (tc.get("function") or {}).get("arguments") or ""
            calls = [(s["id"], s["name"], json.loads(s["arguments"] or "{}")) for _, s in sorted(calls_by_index.items())]
            results = [(env.workdir / c[2]["name"]).read_text() for c in calls]
            messages += [{"role": "assistant", "content": None, "tool_calls": [
                {"id": c[0], "type": "function", "function": {"name": c[1], "arguments": json.dumps(c[2])}} for c in calls]}]
            messages += [{"role": "tool", "tool_call_id": c[0], "content": r} for c, r in zip(calls, results, strict=True)]
            answer = json.loads(_curl(url, headers, {k: v for k, v in body.items() if k not in ("stream", "stream_options")},
                                      stream=False))
            credits.append(answer["usage"]["credits"])
            text = answer["choices"][0]["message"].get("content") or ""
        return Outcome(error=None, answer=text, tool_calls=[(c[1], c[2]) for c in calls], tool_results=results,
                       reported_credits=[int(c) for c in credits], session_id=f"curl-{env.marker}",
                       seconds=time.monotonic() - started)


CLIENTS = [Curl()]
