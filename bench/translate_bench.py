"""Stream-translation micro-benchmark: events per second per core, both directions.

Feeds recorded-shape streams (text deltas, parallel tool-call fragments, usage) through
the pure state machines, parsing each frame's JSON as the gateway does, on one core.

    .venv/bin/python bench/translate_bench.py [--events 200000]
"""

from __future__ import annotations

import argparse
import json
import time

from bytespike.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream, ToolNameMap


def anthropic_stream(deltas: int) -> list[tuple[str, str]]:
    """An Anthropic SSE stream as (event, data-json) frames: text, then two tool calls."""
    frames = [("message_start", json.dumps({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 120, "output_tokens": 1}}}))]
    frames.append(("content_block_start", json.dumps({"type": "content_block_start", "index": 0,
                                                      "content_block": {"type": "text", "text": ""}})))
    frames += [("content_block_delta", json.dumps({"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": f" word{i}"}}))
               for i in range(deltas)]
    frames.append(("content_block_stop", json.dumps({"type": "content_block_stop", "index": 0})))
    for idx, name in ((1, "get_weather"), (2, "get_time")):
        frames.append(("content_block_start", json.dumps({"type": "content_block_start", "index": idx, "content_block": {
            "type": "tool_use", "id": f"toolu_{idx}", "name": name, "input": {}}})))
        for piece in ('{"city":', ' "Par', 'is"}'):
            frames.append(("content_block_delta", json.dumps({"type": "content_block_delta", "index": idx,
                                                              "delta": {"type": "input_json_delta", "partial_json": piece}})))
        frames.append(("content_block_stop", json.dumps({"type": "content_block_stop", "index": idx})))
    frames.append(("message_delta", json.dumps({"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                                                "usage": {"output_tokens": deltas + 20}})))
    frames.append(("message_stop", json.dumps({"type": "message_stop"})))
    return frames


def openai_stream(deltas: int) -> list[str]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt"}
    frames = [json.dumps({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                               "finish_reason": None}]})]
    frames += [json.dumps({**base, "choices": [{"index": 0, "delta": {"content": f" word{i}"}, "finish_reason": None}]})
               for i in range(deltas)]
    for idx, name in ((0, "get_weather"), (1, "get_time")):
        frames.append(json.dumps({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{
            "index": idx, "id": f"call_{idx}", "type": "function", "function": {"name": name, "arguments": ""}}]},
            "finish_reason": None}]}))
        for piece in ('{"city":', ' "Par', 'is"}'):
            frames.append(json.dumps({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{
                "index": idx, "function": {"arguments": piece}}]}, "finish_reason": None}]}))
    frames.append(json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    frames.append(json.dumps({**base, "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": deltas + 20,
                                                               "total_tokens": deltas + 140}}))
    return frames


def bench_anthropic_to_openai(frames: list[tuple[str, str]], total: int) -> float:
    done, start = 0, time.process_time()
    while done < total:
        machine = AnthropicToOpenAIStream(model="m", completion_id="c", created=1, include_usage=True,
                                          names=ToolNameMap())
        for event, data in frames:
            for chunk in machine.feed(event, json.loads(data)):
                json.dumps(chunk, separators=(",", ":"))
        machine.finish()
        done += len(frames)
    return done / (time.process_time() - start)


def bench_openai_to_anthropic(frames: list[str], total: int) -> float:
    done, start = 0, time.process_time()
    while done < total:
        machine = OpenAIToAnthropicStream(model="m", message_id="msg", names=ToolNameMap(), input_tokens_hint=100)
        for data in frames:
            for _, event in machine.feed(json.loads(data)):
                json.dumps(event, separators=(",", ":"))
        machine.finish()
        done += len(frames)
    return done / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--deltas", type=int, default=64)
    args = parser.parse_args()
    a2o = bench_anthropic_to_openai(anthropic_stream(args.deltas), args.events)
    o2a = bench_openai_to_anthropic(openai_stream(args.deltas), args.events)
    print(f"Anthropic events -> OpenAI chunks : {a2o:,.0f} events/s per core (incl. JSON parse + encode)")
    print(f"OpenAI chunks -> Anthropic events : {o2a:,.0f} events/s per core (incl. JSON parse + encode)")


if __name__ == "__main__":
    main()
