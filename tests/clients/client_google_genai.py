"""Google's ``google-genai`` Python SDK (pinned in requirements.lock), on the Gemini surface.

``genai.Client(api_key=<ByteSpike key>, http_options={"base_url": <gateway>})``: the key travels
in ``x-goog-api-key``, streams are ``alt=sse``. The tool round trip is the SDK's own automatic
function calling: ``read_note`` is a Python function in ``tools``; the SDK parses the model's
``functionCall``, calls it and sends the ``functionResponse`` back (its ``automatic_function_calling_history``
is what it did), with ``generate_content`` and with ``generate_content_stream``. The SDK's types
drop fields they do not know (``usageMetadata.credits``), so the credits it was shown are not read
here: the ledger checks and the recorded-traffic tests read them from the bytes.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

from tests.clients.harness import LONG_SILENCE, PROVIDER_MODELS, Case, Client, Outcome, RunEnv


class GoogleGenAI(Client):
    name = "google-genai"
    tool_name = "read_note"

    def installed(self) -> bool:
        return importlib.util.find_spec("google.genai") is not None

    def install(self) -> str:
        return "ok" if self.installed() else "missing"  # a dev dependency (requirements.lock), not npm

    def cases(self) -> list[Case]:
        cases = [Case(self.name, provider, model, mode) for mode in ("generate", "stream")
                 for provider, model in PROVIDER_MODELS.items()]
        # The long silence on a translated lane whose upstream never pings (Ark's Chat Completions).
        return [*cases, Case(self.name, "ark", PROVIDER_MODELS["ark"], "stream", LONG_SILENCE)]

    def run(self, case: Case, env: RunEnv) -> Outcome:
        from google import genai
        from google.genai import types

        calls: list[tuple[str, dict[str, Any]]] = []
        results: list[str] = []

        def read_note(name: str) -> str:
            """Read a note file from the working directory."""
            calls.append(("read_note", {"name": name}))
            results.append((env.workdir / name).read_text())
            return results[-1]

        session = f"google-genai-{env.marker}"
        client = genai.Client(api_key=env.api_key, http_options=types.HttpOptions(
            base_url=env.base_url, headers={"x-session-id": session}, timeout=120_000))
        config = types.GenerateContentConfig(tools=[read_note], max_output_tokens=2048)
        started = time.monotonic()
        try:
            if case.variant == "stream":
                chunks = list(client.models.generate_content_stream(model=case.model, contents=env.prompt(),
                                                                    config=config))
                answer = "".join(c.text or "" for c in chunks)
            else:
                response = client.models.generate_content(model=case.model, contents=env.prompt(), config=config)
                answer = response.text or ""
            error = None
        except Exception as exc:  # the SDK's APIError (or a parse failure) is the client's error report
            answer, error = "", f"{type(exc).__name__}: {exc}"
        finally:
            client.close()
        return Outcome(error=error, answer=answer, tool_calls=calls, tool_results=results, session_id=session,
                       seconds=time.monotonic() - started)


CLIENTS = [GoogleGenAI()]
