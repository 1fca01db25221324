"""The simulator's modality endpoints in-process: deterministic media, each upstream's own shapes."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from typing import Any

import httpx
import pytest

from bytespike.gateway.media.audio import _render, _stamp
from bytespike.gateway.media.common import Ctx, sniff
from bytespike.simulator import media_common as mc
from bytespike.simulator.app import create_simulator_app

AUTH = {"authorization": "Bearer sk-sim-local"}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _call(method: str, path: str, **kw: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_simulator_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        return await client.request(method, path, **kw)


def test_png_is_valid() -> None:
    data = mc.png("seed", 8, 4)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and sniff(data) == "png"
    length = struct.unpack(">I", data[8:12])[0]
    assert data[12:16] == b"IHDR" and struct.unpack(">II", data[16:24]) == (8, 4)
    assert struct.unpack(">I", data[16 + length : 20 + length])[0] == zlib.crc32(data[12 : 16 + length])
    assert mc.png("seed", 8, 4) == data != mc.png("other", 8, 4)


def test_audio_and_video_files() -> None:
    wav = mc.wav(0.5)
    assert sniff(wav) == "wav" and mc.wav_duration(wav) == pytest.approx(0.5)
    mp3 = mc.mp3(1.0)
    assert sniff(mp3) == "mp3" and len(mp3) % 417 == 0
    mp4 = mc.mp4(5, 1280, 720, "x")
    assert sniff(mp4) == "mp4"
    pos, kinds = 0, []
    while pos < len(mp4):
        size, kind = struct.unpack(">I4s", mp4[pos : pos + 8])
        kinds.append(kind)
        pos += size
    assert pos == len(mp4) and kinds == [b"ftyp", b"moov", b"mdat"]


def test_vectors_are_deterministic_unit_vectors() -> None:
    v = mc.vector("text", 64, "m")
    assert v == mc.vector("text", 64, "m") != mc.vector("text", 64, "n")
    assert abs(sum(x * x for x in v) - 1) < 1e-5
    assert len(base64.b64decode(mc.floats_b64(v))) == 256


def test_sim_job_clock() -> None:
    job = mc.new_job("cgt-", "m", "p [[sim job_ms=1000]]", 5, 1280, 720, "720p")
    t0 = job.created
    assert [job.status(t0 + dt) for dt in (0.05, 0.5, 1.5)] == ["queued", "running", "succeeded"]
    assert mc.new_job("", "m", "p [[sim job=fail job_ms=0]]", 5, 1, 1, "720p").status() == "failed"


def test_openai_embeddings_base64() -> None:
    r = run(_call("POST", "/openai/v1/embeddings", headers=AUTH,
                  json={"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 3, "encoding_format": "base64"}))
    body = r.json()
    assert r.status_code == 200 and len(body["data"]) == 2 and body["usage"]["prompt_tokens"] == 2
    assert len(base64.b64decode(body["data"][0]["embedding"])) == 12


def test_gpt_image_refuses_response_format() -> None:
    r = run(_call("POST", "/openai/v1/images/generations", headers=AUTH,
                  json={"model": "gpt-image-1", "prompt": "x", "response_format": "url"}))
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"


def test_ark_task_lifecycle_and_seedream_sizes() -> None:
    async def flow() -> list[httpx.Response]:
        app = create_simulator_app()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
            created = await client.post("/ark/api/v3/contents/generations/tasks", headers=AUTH, json={
                "model": "doubao-seedance", "content": [{"type": "text", "text": "x [[sim job_ms=0]]"}],
                "resolution": "480p", "duration": 4})
            task = await client.get(f"/ark/api/v3/contents/generations/tasks/{created.json()['id']}", headers=AUTH)
            video = await client.get(task.json()["content"]["video_url"].replace("http://sim", ""))
            small = await client.post("/ark/api/v3/images/generations", headers=AUTH,
                                      json={"model": "s", "prompt": "x", "size": "1024x1024"})
            return [created, task, video, small]

    created, task, video, small = run(flow())
    assert created.json()["id"].startswith("cgt-")
    body = task.json()
    assert body["status"] == "succeeded" and body["duration"] == 4 and body["resolution"] == "480p"
    assert body["usage"]["completion_tokens"] == 854 * 480 * 24 * 4 // 1024
    assert video.content[4:8] == b"ftyp"
    assert small.status_code == 400 and small.json()["error"]["param"] == "size"


def test_gemini_errors_and_rerank_shapes() -> None:
    denied = run(_call("POST", "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents", json={"requests": []}))
    assert denied.status_code == 403 and denied.json()["error"]["status"] == "PERMISSION_DENIED"
    cohere = run(_call("POST", "/cohere/v2/rerank", headers=AUTH,
                       json={"model": "rerank-v3.5", "query": "apple", "documents": ["apple pie", "car"], "top_n": 1}))
    assert cohere.json()["results"][0]["index"] == 0 and cohere.json()["meta"]["billed_units"]["search_units"] == 1
    jina = run(_call("POST", "/jina/v1/rerank", headers=AUTH, json={"model": "j", "query": "q", "documents": []}))
    assert jina.status_code == 400 and "detail" in jina.json()


def test_transcript_rendering() -> None:
    assert _stamp(3723.456, ",") == "01:02:03,456"
    answer = {"text": "hi", "duration": 1.5, "segments": [{"start": 0.0, "end": 1.5, "text": " hi"}]}
    usage = {"type": "duration", "seconds": 2, "credits": 200}
    srt = _render(Ctx(), "srt", answer, "hi", usage)
    assert srt.body.decode() == "1\n00:00:00,000 --> 00:00:01,500\nhi\n" and srt.headers["x-credits"] == "200"
    vtt = _render(Ctx(), "vtt", answer, "hi", usage).body.decode()
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nhi")
