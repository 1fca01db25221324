"""What every modality handler shares: model resolution, scopes, request validation, upload
limits, per-unit pricing and settlement.

The money flow is the chat pipeline's (``gateway/pipeline.py``): a ``Call`` holds an upper
bound, the upstream answer settles it at the units actually produced (capped at the hold),
and the release function refunds the rest; a failure settles at 0. Validation runs before
the hold, so a bad request (or a bad upload) is a 4xx that holds nothing.
"""

from __future__ import annotations

import base64
import logging
import math
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bytespike.catalog import MediaLimits, Model, Provider, UnitPrice, catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.pipeline import (
    Call,
    billed_credits,
    hold,
    hold_and_open,
    new_request_id,
    request_id_for,
    settle_failure,
    settle_ok,
)
from bytespike.http import access
from bytespike.http.render import base_headers, error_response, json_response, parse_json_object, read_body
from bytespike.providers import Account, accounts_for
from bytespike.store.keys import KeyRecord

log = logging.getLogger("bytespike.media")

SURFACE = "openai"
# Key scopes written with the admin API's singular names keep working.
SCOPE_ALIASES = {"embeddings": "embedding", "images": "image"}
BYTES_PER_TOKEN_UPPER = 2.5  # same upper-leaning rule as the chat estimator
# Buffered Lambda responses are capped at 6 MB; stay clear of it.
BUFFERED_RESPONSE_LIMIT = 5_500_000


# ------------------------------------------------------------------ per-request context
@dataclass(slots=True)
class Ctx:
    """Request id and hold so far: every response, errors included, carries both."""

    request_id: str = field(default_factory=new_request_id)
    estimated: int | None = 0
    surface: str = SURFACE  # the protocol errors speak (the Gemini surface's embedContent: "gemini")

    def error(self, err: GatewayError) -> Response:
        return error_response(err, self.surface, self.request_id, self.estimated)

    def headers(self) -> dict[str, str]:
        return base_headers(self.request_id, self.estimated)

    def json(self, body: Any, status: int = 200) -> Response:
        return json_response(body, self.request_id, self.estimated, status)


def bad(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(Kind.INVALID_REQUEST, message, param=param)


# ------------------------------------------------------------------ models and scopes
def resolve(model_id: Any, modality: str, kind: str | None = None) -> Model:
    """A catalog model of this modality (``kind`` narrows audio to speech/transcription)."""
    access.note(model=model_id)  # for the request's log record
    if not isinstance(model_id, str) or not model_id:
        raise bad("you must provide a model parameter", "model")
    model = catalog().model(model_id)
    if model is None or model.modality != modality or (kind and model.media.audio != kind):
        served = sorted(m.id for m in catalog().models.values()
                        if m.modality == modality and (not kind or m.media.audio == kind) and not retired(m))
        raise GatewayError(Kind.NOT_FOUND, f"The model '{model_id}' does not exist or does not serve this endpoint. "
                                           f"Models here: {', '.join(served)}.", param="model")
    if retired(model):
        raise GatewayError(Kind.INVALID_REQUEST,
                           f"'{model.id}' was shut down by its provider on {model.retires_at}; nothing was held. "
                           "See GET /v1/models for the models this endpoint serves.", param="model", status=410)
    if model.unit_price is None:
        raise GatewayError(Kind.API, f"The catalog has no unit price for '{model.id}'.")
    return model


def retired(model: Model, today: str | None = None) -> bool:
    """True from the provider's announced shutdown day (UTC) on."""
    day = model.retires_at
    return bool(day) and (today or time.strftime("%Y-%m-%d", time.gmtime())) >= str(day)


def authorize(key: KeyRecord, model: Model, modality: str) -> None:
    """Same rule as chat (models, modalities); a scope may name the modality in either form."""
    name = modality
    if key.modalities is not None and modality not in key.modalities:
        name = SCOPE_ALIASES.get(modality, modality)
    auth.authorize(key, model, name)


@dataclass(frozen=True, slots=True)
class Upstream:
    """A modality upstream. ``wire`` is the provider's own name: the catalog's chat ``wire``
    says "openai" for Ark, but Ark's image and video APIs are its own."""

    wire: str
    provider: Provider


def provider_of(model: Model) -> tuple[Upstream, Account]:
    provider = catalog().provider_of(model)
    return Upstream(wire=provider.name, provider=provider), accounts_for(provider)[0]


def unit_price(model: Model) -> UnitPrice:
    assert model.unit_price is not None  # resolve() guarantees it
    return model.unit_price


def new_call(request: Request, key: KeyRecord, model: Model, hold: int, surface: str = SURFACE) -> Call:
    request_id, idempotent = request_id_for(key, request.headers.get("idempotency-key"))
    return Call(request_id=request_id, surface=surface, key=key, model=model, hold=max(1, hold),
                reservation_id=request_id, idempotent=idempotent)


# ------------------------------------------------------------------ request bodies
async def read_json(request: Request) -> dict[str, Any]:
    return parse_json_object(await read_body(request))


async def read_form(request: Request, *, max_files: int = 16, max_fields: int = 64) -> FormData:
    """A multipart body, size-checked first (the function payload limit) and then parsed."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise bad("This endpoint takes multipart/form-data (a file upload).")
    raw = await read_body(request)
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=max_files, max_fields=max_fields,
                                                         max_part_size=len(raw) + 1)
    except Exception as exc:  # python-multipart / starlette parse errors
        raise bad(f"The multipart body could not be parsed: {exc}") from exc


def upload_limit(model: Model | None = None) -> int:
    """Per-file limit: the model's own (OpenAI: 25 MB) within the function's payload limit."""
    own = model.media.max_upload_bytes if model else MediaLimits().max_upload_bytes
    return min(own, settings().max_body_bytes)


def form_str(form: FormData, name: str, *, required: bool = False, max_len: int = 100_000) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise bad(f"Missing required parameter: '{name}'.", name)
        return None
    if not isinstance(value, str):
        raise bad(f"'{name}' must be a text field, not a file.", name)
    if len(value) > max_len:
        raise bad(f"'{name}' is longer than {max_len} characters.", name)
    return value


def as_str(body: dict[str, Any], name: str, *, required: bool = False, max_len: int = 100_000) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad(f"Missing required parameter: '{name}'.", name)
        return None
    if not isinstance(value, str) or (required and not value):
        raise bad(f"Invalid type for '{name}': expected a non-empty string.", name)
    if len(value) > max_len:
        raise bad(f"Invalid '{name}': string too long (maximum {max_len} characters, got {len(value)}).", name)
    return value


def as_int(value: Any, name: str, lo: int, hi: int, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"Invalid type for '{name}': expected an integer.", name)
    if not lo <= value <= hi:
        raise bad(f"Invalid '{name}': {value} is outside {lo}..{hi}.", name)
    return value


def as_float(value: Any, name: str, lo: float, hi: float, default: float) -> float:
    if value is None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise bad(f"Invalid type for '{name}': expected a number.", name) from exc
    if not lo <= out <= hi:
        raise bad(f"Invalid '{name}': {out} is outside {lo}..{hi}.", name)
    return out


def one_of(value: Any, name: str, allowed: list[str] | tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise bad(f"Invalid value for '{name}': '{value}'. Supported values are: {', '.join(map(str, allowed))}.", name)
    return str(value)


# ------------------------------------------------------------------ uploads
_MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
    ("flac", lambda b: b[:4] == b"fLaC"),
    ("ogg", lambda b: b[:4] == b"OggS"),
    ("webm", lambda b: b[:4] == b"\x1a\x45\xdf\xa3"),
    ("mp4", lambda b: b[4:8] == b"ftyp"),
    ("mp3", lambda b: b[:3] == b"ID3" or (len(b) > 1 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0)),
    ("png", lambda b: b[:8] == b"\x89PNG\r\n\x1a\n"),
    ("jpeg", lambda b: b[:3] == b"\xff\xd8\xff"),
    ("webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
)
# File extension -> the container its bytes must be.
AUDIO_EXT = {"wav": "wav", "flac": "flac", "ogg": "ogg", "oga": "ogg", "webm": "webm", "mp3": "mp3", "mpga": "mp3",
             "mpeg": "mp3", "mp4": "mp4", "m4a": "mp4"}
IMAGE_EXT = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}


def sniff(data: bytes) -> str | None:
    """The container a file's first bytes prove (None: none we accept)."""
    for name, test in _MAGIC:
        if test(data[:16]):
            return name
    return None


async def read_upload(form: FormData, name: str, *, model: Model | None, allowed_ext: dict[str, str],
                      required: bool = True, files: list[UploadFile] | None = None) -> tuple[str, bytes, str] | None:
    """One uploaded file, checked: present, within the size limit, extension and bytes agree."""
    value = files[0] if files else form.get(name)
    if value is None or value == "":
        if required:
            raise bad(f"Missing required parameter: '{name}' (a file upload).", name)
        return None
    if not isinstance(value, UploadFile):
        raise bad(f"'{name}' must be a file upload (multipart), not a text field.", name)
    limit = upload_limit(model)
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise bad(f"'{name}' is larger than the {limit}-byte upload limit.", name)
    if not data:
        raise bad(f"'{name}' is empty.", name)
    filename = value.filename or name
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in allowed_ext:
        raise bad(f"Unsupported file type '{ext or filename}' for '{name}'. Supported: {', '.join(sorted(allowed_ext))}.",
                  name)
    kind = sniff(data)
    if kind != allowed_ext[ext]:
        raise bad(f"'{filename}' does not contain {allowed_ext[ext]} data (its bytes look like {kind or 'nothing we accept'}).",
                  name)
    content_type = {"mp3": "audio/mpeg", "mp4": "audio/mp4", "png": "image/png", "jpeg": "image/jpeg",
                    "webp": "image/webp"}.get(kind, f"audio/{kind}")
    return filename, data, content_type


# ------------------------------------------------------------------ estimates and pricing
def est_tokens(text: str) -> int:
    """Upper-leaning token count (UTF-8 bytes / 2.5), like the chat estimator."""
    return max(1, math.ceil(len(text.encode()) / BYTES_PER_TOKEN_UPPER)) if text else 0


def units_usage(model: Model, quantity: int, key: str = "default", **extra: int | str) -> dict[str, Any]:
    """The usage map settled on the reservation (and copied to the usage ledger row)."""
    price = unit_price(model)
    return {"unit": price.unit, "quantity": int(quantity), "rate_key": key, "rate": price.rate(key), "per": price.per,
            **extra}


# ------------------------------------------------------------------ hold and settle
async def hold_then_open(call: Call, opener: Callable[[], Awaitable[httpx.Response]], modality: str) -> httpx.Response:
    """Hold first, then call upstream: for work that costs real money upstream as soon as it
    starts (images, video jobs), no request leaves the gateway before its credits are held."""
    await hold(call, modality)
    try:
        return await opener()
    except BaseException as exc:
        await settle_failure(call, exc)
        raise


async def overlap_open(call: Call, opener: Callable[[], Awaitable[httpx.Response]], modality: str) -> httpx.Response:
    """Hold beside the upstream call (the chat pipeline's overlap): cheap, short calls."""
    return await hold_and_open(call, opener, modality)


async def settle_units(call: Call, cost: int, usage: dict[str, Any], outcome: str = "ok") -> int:
    """HELD -> SETTLED at the unit cost, capped at the hold (estimated_credits is a ceiling)."""
    cost = billed_credits(call, None, cost)
    await settle_ok(call, cost, usage, outcome)
    return cost


async def fail(call: Call, exc: BaseException | None = None) -> None:
    await settle_failure(call, exc)


# ------------------------------------------------------------------ vectors
def normalize(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def floats_b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
