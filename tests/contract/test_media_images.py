"""Images over HTTP with the official openai SDK: url and b64_json, PNG outputs, billing per image."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import httpx
import openai
import pytest

from bytespike.catalog import catalog
from tests.support.stack import Stack


def png_size(data: bytes) -> tuple[int, int]:
    """Parse a PNG strictly (signature, chunk CRCs, IDAT inflates); return (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    pos, idat, dims = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + chunk) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            dims = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
        if kind == b"IEND":
            break
    w, h = dims
    assert len(zlib.decompress(idat)) == h * (1 + 3 * w)
    return w, h


def _expected(model: str, count: int, key: str = "default") -> int:
    return catalog().model(model).unit_price.cost(count, key)


def test_gpt_image_b64_bills_per_image(stack: Stack) -> None:
    org = stack.new_org(2_000_000)
    raw = stack.openai(org.master_key).images.with_raw_response.generate(
        model="gpt-image-1", prompt="a lighthouse at dusk", n=2, size="1024x1024", quality="low")
    result = raw.parse()
    assert len(result.data) == 2 and all(png_size(base64.b64decode(d.b64_json)) for d in result.data)
    expected = _expected("gpt-image-1", 2, "low/1024x1024")
    assert expected == 22_000 and int(raw.headers["estimated_credits"]) == expected
    assert result.usage.model_extra["credits"] == expected and result.quality == "low" and result.size == "1024x1024"
    [res] = stack.wait_all_released(org.org_id)
    assert res["cost"] == expected and res["usage"] == {"unit": "image", "quantity": 2, "rate_key": "low/1024x1024",
                                                        "rate": 11_000, "per": 1}
    assert stack.usage_row(org.org_id, raw.headers["x-request-id"])["modality"] == "images"


def test_auto_is_held_at_the_dearest_and_settled_at_what_was_made(stack: Stack) -> None:
    org = stack.new_org(2_000_000)
    raw = stack.openai(org.master_key).images.with_raw_response.generate(model="gpt-image-1", prompt="auto everything")
    result = raw.parse()
    assert int(raw.headers["estimated_credits"]) == 250_000  # high quality at 1536x1024
    assert (result.quality, result.size) == ("medium", "1024x1024")  # what the upstream reports it made
    assert result.usage.model_extra["credits"] == 42_000
    stack.wait_all_released(org.org_id)
    assert stack.wallet(org.org_id)["balance"] == org.topped_up - 42_000


@pytest.mark.parametrize("model", ["gpt-image-1", "imagen-4.0-generate-001", "doubao-seedream-4-5"])
def test_url_and_b64_decode_as_png(stack: Stack, model: str) -> None:
    org = stack.new_org(2_000_000)
    client = stack.openai(org.master_key)
    size = "2K" if model.startswith("doubao") else "1024x1024"
    as_url = client.images.generate(model=model, prompt="a red fox", response_format="url", size=size)
    url = as_url.data[0].url
    if url.startswith("data:"):
        assert url.startswith("data:image/png;base64,")
        png = base64.b64decode(url.split(",", 1)[1])
    else:  # the upstream's own (signed) URL, passed through
        png = httpx.get(url, timeout=10).content
    assert png_size(png)
    as_b64 = client.images.generate(model=model, prompt="a red fox", response_format="b64_json", size=size, n=2)
    assert len(as_b64.data) == 2 and png_size(base64.b64decode(as_b64.data[1].b64_json))
    res = stack.wait_all_released(org.org_id)
    per_image = _expected(model, 1, "medium/1024x1024" if model == "gpt-image-1" else "default")
    assert sorted(r["cost"] for r in res) == [per_image, 2 * per_image]
    stack.assert_conservation(org.org_id)


def test_edit_multipart(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    client = stack.openai(org.master_key)
    source = base64.b64decode(client.images.generate(model="gpt-image-1", prompt="source", quality="low",
                                                     size="1024x1024").data[0].b64_json)
    edited = client.images.edit(model="gpt-image-1", image=("in.png", io.BytesIO(source), "image/png"),
                                prompt="make it blue", quality="low", size="1024x1024")
    assert png_size(base64.b64decode(edited.data[0].b64_json))
    assert edited.usage.model_extra["credits"] == 11_000


@pytest.mark.parametrize("files,data,param", [
    ({"image": ("in.png", b"not a png at all", "image/png")}, {"model": "gpt-image-1", "prompt": "x"}, "image"),
    ({"image": ("in.gif", b"GIF89a....", "image/gif")}, {"model": "gpt-image-1", "prompt": "x"}, "image"),
    ({}, {"model": "gpt-image-1", "prompt": "x"}, "image"),
    ({"image": ("in.png", b"\x89PNG\r\n\x1a\n", "image/png")}, {"model": "imagen-4.0-generate-001", "prompt": "x"},
     "model"),
])
def test_bad_upload_is_a_clear_400_and_holds_nothing(stack: Stack, files: dict, data: dict, param: str) -> None:
    org = stack.new_org(100_000)
    r = httpx.post(f"{stack.base_url}/v1/images/edits", files=files or {"unused": ("", b"")}, data=data, timeout=10,
                   headers={"authorization": f"Bearer {org.master_key}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert stack.reservations(org.org_id) == []


@pytest.mark.parametrize("body,param", [
    ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
    ({"model": "gpt-image-1", "prompt": "x", "size": "999x999"}, "size"),
    ({"model": "doubao-seedream-4-5", "prompt": "x", "size": "1024x1024"}, "size"),
    ({"model": "gpt-image-1", "prompt": ""}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "x", "quality": "ultra"}, "quality"),
])
def test_bad_generation_requests(stack: Stack, body: dict, param: str) -> None:
    r = httpx.post(f"{stack.base_url}/v1/images/generations", json=body, timeout=10,
                   headers={"authorization": f"Bearer {stack.master_key}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_failed_generation_bills_zero(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    with pytest.raises(openai.InternalServerError):
        stack.openai(org.master_key).images.generate(model="imagen-4.0-generate-001", prompt="x [[sim status=500]]")
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
