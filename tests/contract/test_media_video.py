"""Video jobs over HTTP with the official openai SDK (videos.create / retrieve / download_content):
hold on create, settle on completion, release on failure / cancel / timeout, MP4 output."""

from __future__ import annotations

import io
import struct
import time

import httpx
import openai
import pytest

from bytespike.catalog import catalog
from tests.support.stack import Stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks videos.* deprecated (Sora)


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Top-level ISO BMFF boxes; asserts the sizes tile the file exactly."""
    out, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert size >= 8 and pos + size <= len(data), (kind, size)
        out.append((kind, data[pos + 8 : pos + size]))
        pos += size
    assert pos == len(data)
    return out


def wait_final(client: openai.OpenAI, video_id: str, timeout: float = 15.0) -> openai.types.Video:
    deadline = time.monotonic() + timeout
    while True:
        video = client.videos.retrieve(video_id)
        if video.status not in ("queued", "in_progress") or time.monotonic() > deadline:
            return video
        time.sleep(0.2)


@pytest.mark.parametrize("model,size,seconds,key", [
    ("doubao-seedance-2-0", "1280x720", "5", "720p"),
    ("veo-3.1-generate-preview", "720x1280", "4", "720p"),
])
def test_create_poll_download_and_bill(stack: Stack, model: str, size: str, seconds: str, key: str) -> None:
    org = stack.new_org(10_000_000)
    client = stack.openai(org.master_key)
    raw = client.videos.with_raw_response.create(model=model, prompt="a paper boat [[sim job_ms=400]]", size=size,
                                                 seconds=seconds)
    created = raw.parse()
    expected = catalog().model(model).unit_price.cost(int(seconds), key)
    assert created.object == "video" and created.status == "queued" and created.id.startswith("video_")
    assert int(raw.headers["estimated_credits"]) == expected and int(raw.headers["openai-poll-after-ms"]) > 0
    assert created.model == model and created.seconds == seconds and created.size == size
    [held] = stack.reservations(org.org_id)
    assert held["state"] == "HELD" and held["hold"] == expected and held["modality"] == "video"
    video = wait_final(client, created.id)
    assert video.status == "completed" and video.progress == 100 and video.model_extra["credits"] == expected
    assert video.completed_at and video.expires_at and video.error is None
    data = client.videos.download_content(created.id).read()
    tree = boxes(data)
    kinds = [k for k, _ in tree]
    assert kinds[0] == b"ftyp" and b"moov" in kinds and b"mdat" in kinds
    moov = dict(tree)[b"moov"]
    assert moov[4:8] == b"mvhd" and b"trak" in moov
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "SETTLED" and res["cost"] == expected
    assert res["usage"]["unit"] == "second" and res["usage"]["quantity"] == int(seconds)
    row = stack.usage_row(org.org_id, res["request_id"])
    assert row["modality"] == "video" and row["credits"] == expected
    stack.assert_conservation(org.org_id)


def test_failed_upstream_job_bills_zero_and_releases(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    client = stack.openai(org.master_key)
    created = client.videos.create(model="doubao-seedance-2-0", prompt="x [[sim job=fail job_ms=0]]", size="854x480",
                                   seconds="4")
    video = wait_final(client, created.id)
    assert video.status == "failed" and video.error.code and video.model_extra["credits"] == 0
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    with pytest.raises(openai.BadRequestError):
        client.videos.download_content(created.id)


def test_scheduled_poller_settles_without_any_read(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    created = stack.openai(org.master_key).videos.create(model="doubao-seedance-2-0", prompt="nobody polls [[sim job_ms=0]]",
                                                         size="854x480", seconds="4")
    [res] = stack.wait_all_released(org.org_id)  # the local stack's poller loop (the scheduled function on AWS)
    assert res["state"] == "SETTLED" and res["cost"] == 4 * 134_505
    assert stack.video_job(created.id)["status"] == "completed"


def test_cancel_releases_the_hold(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    client = stack.openai(org.master_key)
    created = client.videos.create(model="doubao-seedance-2-0", prompt="slow [[sim job_ms=600000]]", size="854x480",
                                   seconds="4")
    deleted = client.videos.delete(created.id)
    assert deleted.deleted and deleted.id == created.id
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0 and stack.wallet(org.org_id)["balance"] == org.topped_up
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(created.id)


def test_timeout_releases_the_hold(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    client = stack.openai(org.master_key)
    created = client.videos.create(model="veo-3.1-generate-preview", prompt="forever [[sim job_ms=600000]]",
                                   size="1280x720", seconds="4")
    stack.ddb.update_item(TableName=stack.tables["VIDEO_JOBS_TABLE"], Key={"id": {"S": created.id}},
                          UpdateExpression="SET deadline = :d, next_poll_at = :d", ExpressionAttributeValues={":d": {"N": "1"}})
    video = client.videos.retrieve(created.id)
    assert video.status == "failed" and video.error.code == "timeout"
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0


def test_hold_deadline_outlives_the_job(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    created = stack.openai(org.master_key).videos.create(model="doubao-seedance-2-0", prompt="p [[sim job_ms=600000]]",
                                                         size="854x480", seconds="4")
    [res] = stack.reservations(org.org_id)
    assert res["expires_at"] > stack.video_job(created.id)["deadline"]  # the sweeper never beats the job timeout
    stack.openai(org.master_key).videos.delete(created.id)
    stack.wait_all_released(org.org_id)


def test_retired_sora_is_refused_without_a_hold(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    for model in ("sora-2", "sora-2-pro"):
        with pytest.raises(openai.APIStatusError) as err:
            stack.openai(org.master_key).videos.create(model=model, prompt="x")
        assert err.value.status_code == 410 and "2026-09-24" in err.value.message
    with pytest.raises(openai.BadRequestError):  # OpenAI's default model is sora-2: say so instead
        stack.openai(org.master_key).videos.create(prompt="x")
    assert stack.reservations(org.org_id) == []


@pytest.mark.parametrize("fields,param", [
    ({"model": "doubao-seedance-2-0", "prompt": "x", "seconds": "7"}, "seconds"),
    ({"model": "doubao-seedance-2-0", "prompt": "x", "size": "4096x4096"}, "size"),
    ({"model": "veo-3.1-generate-preview", "prompt": ""}, "prompt"),
])
def test_bad_requests_hold_nothing(stack: Stack, fields: dict, param: str) -> None:
    org = stack.new_org(1_000_000)
    r = httpx.post(f"{stack.base_url}/v1/videos", data=fields, files={"x": ("", b"")}, timeout=10,
                   headers={"authorization": f"Bearer {org.master_key}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert stack.reservations(org.org_id) == []


def test_input_reference_upload_is_validated(stack: Stack) -> None:
    org = stack.new_org(5_000_000)
    client = stack.openai(org.master_key)
    with pytest.raises(openai.BadRequestError) as err:
        client.videos.create(model="doubao-seedance-2-0", prompt="x", size="854x480", seconds="4",
                             input_reference=("frame.png", io.BytesIO(b"definitely not png"), "image/png"))
    assert err.value.body["param"] == "input_reference"
    assert stack.reservations(org.org_id) == []


def test_other_orgs_cannot_read_a_job(stack: Stack) -> None:
    owner, other = stack.new_org(5_000_000), stack.new_org(1_000)
    created = stack.openai(owner.master_key).videos.create(model="doubao-seedance-2-0", prompt="mine [[sim job_ms=0]]",
                                                           size="854x480", seconds="4")
    with pytest.raises(openai.NotFoundError):
        stack.openai(other.master_key).videos.retrieve(created.id)
    stack.wait_all_released(owner.org_id)
