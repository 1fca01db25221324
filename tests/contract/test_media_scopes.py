"""One key, one wallet: modality scopes are enforced on every modality endpoint, and the
money across a mixed multimodal session is conserved."""

from __future__ import annotations

import io
import struct

import httpx
import openai
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # videos.* is marked deprecated (Sora)

WAV = (b"RIFF" + struct.pack("<I", 36 + 3200) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
       + b"data" + struct.pack("<I", 3200) + bytes(3200))
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")

CALLS = {
    "embeddings": lambda c: c.embeddings.create(model="text-embedding-3-small", input="x"),
    "rerank": lambda c: c.post("/rerank", cast_to=object, body={"model": "rerank-v3.5", "query": "q", "documents": ["a"]}),
    "images": lambda c: c.images.generate(model="gpt-image-1", prompt="x"),
    "image edits": lambda c: c.images.edit(model="gpt-image-1", prompt="x", image=("a.png", io.BytesIO(PNG), "image/png")),
    "speech": lambda c: c.audio.speech.create(model="tts-1", voice="alloy", input="x"),
    "transcription": lambda c: c.audio.transcriptions.create(model="whisper-1", file=("a.wav", io.BytesIO(WAV), "audio/wav")),
    "video": lambda c: c.videos.create(model="doubao-seedance-2-0", prompt="x", size="854x480", seconds="4"),
}


@pytest.fixture(scope="module")
def chat_only(stack: Stack) -> tuple[str, str]:
    org = stack.new_org(5_000_000)
    return org.org_id, stack.scoped_key(org.org_id, ["chat"])


@pytest.mark.parametrize("name", list(CALLS))
def test_chat_only_key_is_refused_on_every_modality(stack: Stack, chat_only: tuple[str, str], name: str) -> None:
    org_id, key = chat_only
    with pytest.raises(openai.PermissionDeniedError) as err:
        CALLS[name](stack.openai(key))
    assert err.value.status_code == 403 and "modality" in err.value.message
    assert err.value.response.headers["x-should-retry"] == "false"
    assert stack.reservations(org_id) == []


def test_chat_only_key_cannot_read_the_orgs_videos(stack: Stack, chat_only: tuple[str, str]) -> None:
    org_id, key = chat_only
    master = stack.scoped_key(org_id, ["chat", "video"])
    created = stack.openai(master).videos.create(model="doubao-seedance-2-0", prompt="x [[sim job_ms=0]]", size="854x480",
                                                 seconds="4")
    for path in (f"/v1/videos/{created.id}", f"/v1/videos/{created.id}/content"):
        r = httpx.get(stack.base_url + path, headers={"authorization": f"Bearer {key}"}, timeout=10)
        assert r.status_code == 403, r.text
    stack.wait_all_released(org_id)


def test_chat_only_key_still_chats(stack: Stack, chat_only: tuple[str, str]) -> None:
    _, key = chat_only
    reply = stack.openai(key).chat.completions.create(model="gpt-6-luna", max_tokens=50,
                                                      messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content


def test_singular_scope_names_work(stack: Stack) -> None:
    """Keys minted with the admin API's names ("embedding", "image") reach the plural endpoints."""
    org = stack.new_org(1_000_000)
    key = stack.scoped_key(org.org_id, ["embedding", "image"])
    assert stack.openai(key).embeddings.create(model="text-embedding-3-small", input="x").data
    with pytest.raises(openai.PermissionDeniedError):
        stack.openai(key).audio.speech.create(model="tts-1", voice="alloy", input="x")


def test_one_wallet_across_modalities_conserves_money(stack: Stack) -> None:
    org = stack.new_org(3_000_000)
    client = stack.openai(org.master_key)
    billed = client.chat.completions.create(model="gpt-6-luna", max_tokens=50,
                                            messages=[{"role": "user", "content": "hi"}]).usage.model_extra["credits"]
    billed += client.embeddings.create(model="text-embedding-3-large", input="a b c").usage.model_extra["credits"]
    billed += httpx.post(f"{stack.base_url}/v1/rerank", headers={"authorization": f"Bearer {org.master_key}"}, timeout=10,
                         json={"model": "rerank-v3.5", "query": "q", "documents": ["a", "b"]}).json()["usage"]["credits"]
    billed += client.images.generate(model="imagen-4.0-generate-001", prompt="x").usage.model_extra["credits"]
    billed += client.audio.transcriptions.create(model="whisper-1", file=("a.wav", io.BytesIO(WAV), "audio/wav")
                                                 ).usage.model_extra["credits"]
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="twelve chars") as r:
        r.read()
        billed += int(r.headers["x-credits"])
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="gpt-image-1", prompt="x [[sim status=500]]")
    res = stack.wait_all_released(org.org_id)
    assert len(res) == 7 and sum(int(r.get("cost") or 0) for r in res) == billed
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == 0 and totals["billed"] == billed
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - billed
