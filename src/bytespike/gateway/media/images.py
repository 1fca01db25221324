"""``POST /v1/images/generations`` and ``/v1/images/edits`` (OpenAI shape).

Upstreams: OpenAI gpt-image (generations and edits), Gemini Imagen (``:predict``), Ark
Seedream. Priced per image by quality/size: the hold is ``n`` x the dearest variant the
request allows (``auto`` = the dearest), the settle counts the images returned at the
quality/size the upstream reports. The hold commits before the upstream call starts
(image generation costs upstream money at once). ``response_format=url`` passes the
upstream's URL through where it gives one (Seedream); upstreams that return only bytes
(gpt-image, Imagen) answer with a ``data:`` URL, since the gateway keeps no file store.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bytespike.catalog import Model
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.media import common as c
from bytespike.providers import media as up

MODALITY = "images"
IMAGEN_RATIO = {"1024x1024": "1:1", "1536x1024": "4:3", "1024x1536": "3:4", "1792x1024": "16:9", "1024x1792": "9:16"}
FORMATS = ("png", "jpeg", "webp")


class Plan:
    """What one images request asks for, validated against the model."""

    def __init__(self, model: Model, fields: dict[str, Any]) -> None:
        self.model = model
        self.prompt = fields.get("prompt")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise c.bad("Missing required parameter: 'prompt'.", "prompt")
        limit = model.media.max_prompt_chars
        if len(self.prompt) > limit:
            raise c.bad(f"Invalid 'prompt': longer than {limit} characters.", "prompt")
        self.n = c.as_int(fields.get("n"), "n", 1, model.media.max_n, default=1)
        sizes: list[str] = list(model.media.sizes)
        qualities: list[str] = list(model.media.qualities)
        self.size = c.one_of(fields.get("size"), "size", [*sizes, "auto"], "auto")
        self.quality = "auto"
        if qualities:
            self.quality = c.one_of(fields.get("quality"), "quality", [*qualities, "auto"], "auto")
        self.response_format = c.one_of(fields.get("response_format"), "response_format", ("url", "b64_json"), "b64_json")
        self.output_format = c.one_of(fields.get("output_format"), "output_format", FORMATS, "png")
        if model.provider != "openai" and self.output_format != "png":
            raise c.bad(f"{model.id} returns PNG only.", "output_format")
        self.background = fields.get("background")
        self.sizes, self.qualities = sizes, qualities

    def rate_key(self, quality: str | None = None, size: str | None = None) -> str:
        """The price variant of one image; ``auto`` (or unknown) resolves to the dearest."""
        price = c.unit_price(self.model)
        if price.rates.keys() == {"default"}:
            return "default"
        q = quality if quality in self.qualities else None
        s = size if size in self.sizes else None
        keys = [k for k in price.rates if (q is None or k.startswith(q + "/")) and (s is None or k.endswith("/" + s))]
        return max(keys or list(price.rates), key=price.rates.__getitem__)

    @property
    def hold(self) -> int:
        return c.unit_price(self.model).cost(self.n, self.rate_key(self.quality, self.size))


def _data_url(b64: str, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64,{b64}"


def _item(b64: str | None, url: str | None, plan: Plan, fmt: str) -> dict[str, Any]:
    if plan.response_format == "b64_json":
        if b64 is None:
            raise GatewayError(Kind.UPSTREAM, "The upstream returned a URL where image bytes were expected.")
        return {"b64_json": b64}
    return {"url": url if url else _data_url(b64 or "", fmt)}


async def generate(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        body = await c.read_json(request)
        model = c.resolve(body.get("model"), MODALITY)
        c.authorize(key, model, MODALITY)
        plan = Plan(model, body)
        return await _run(request, ctx, key, plan, None)
    except GatewayError as err:
        return ctx.error(err)


async def edit(request: Request) -> Response:
    """gpt-image edits: multipart ``image`` (or ``image[]``, up to 16) + optional ``mask``."""
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        form = await c.read_form(request, max_files=17)
        model = c.resolve(c.form_str(form, "model", required=True), MODALITY)
        c.authorize(key, model, MODALITY)
        if not model.media.edits:
            raise c.bad(f"{model.id} has no edits endpoint; use /v1/images/generations.", "model")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        plan = Plan(model, fields)
        uploads = [v for k, v in form.multi_items() if k in ("image", "image[]") and isinstance(v, UploadFile)]
        if not uploads:
            raise c.bad("Missing required parameter: 'image' (one or more image files).", "image")
        if len(uploads) > 16:
            raise c.bad("At most 16 images can be edited together.", "image")
        files = []
        for upload in uploads:
            got = await c.read_upload(form, "image", model=model, allowed_ext=c.IMAGE_EXT, files=[upload])
            assert got is not None
            files.append(("image[]", got))
        mask = await c.read_upload(form, "mask", model=model, allowed_ext={"png": "png"}, required=False)
        if mask:
            files.append(("mask", mask))
        return await _run(request, ctx, key, plan, files)
    except GatewayError as err:
        return ctx.error(err)


async def _run(request: Request, ctx: c.Ctx, key: Any, plan: Plan, files: up.Files | None) -> Response:
    model = plan.model
    ctx.estimated = plan.hold
    call = c.new_call(request, key, model, ctx.estimated)
    ctx.request_id = call.request_id
    provider, account = c.provider_of(model)
    if provider.wire == "openai":
        opener = _openai(account, plan, files)
    elif provider.wire == "gemini":
        opener = _imagen(account, plan)
    else:
        opener = _seedream(account, plan)
    response = await c.hold_then_open(call, opener, MODALITY)
    try:
        answer = await up.read_json(response)
        data, billed_key, count, extra = _parse(provider.wire, answer, plan)
    except (GatewayError, KeyError, TypeError, ValueError) as exc:
        await c.fail(call, exc)
        if isinstance(exc, GatewayError):
            raise
        raise GatewayError(Kind.UPSTREAM, "The upstream returned an unreadable images response.") from exc
    cost = await c.settle_units(call, c.unit_price(model).cost(count, billed_key),
                                c.units_usage(model, count, billed_key))
    out: dict[str, Any] = {"created": int(answer.get("created") or time.time()), "data": data, **extra}
    out["usage"] = {**(answer.get("usage") if provider.wire == "openai" and isinstance(answer.get("usage"), dict) else {}),
                    "images": count, "credits": cost}
    return ctx.json(out)


def _parse(wire: str, answer: dict[str, Any], plan: Plan) -> tuple[list[dict[str, Any]], str, int, dict[str, Any]]:
    """(client data[], price variant, images billed, extra top-level fields)."""
    if wire == "openai":
        quality, size = answer.get("quality"), answer.get("size")
        fmt = str(answer.get("output_format") or plan.output_format)
        data = [_item(d.get("b64_json"), d.get("url"), plan, fmt) for d in answer["data"]]
        extra = {k: answer[k] for k in ("background", "output_format", "quality", "size") if k in answer}
        return data, plan.rate_key(quality or plan.quality, size or plan.size), len(data), extra
    if wire == "gemini":
        data = [_item(p["bytesBase64Encoded"], None, plan, "png") for p in answer["predictions"]]
        return data, "default", len(data), {}
    data = [_item(d.get("b64_json"), d.get("url"), plan, "png") for d in answer["data"]]
    generated = (answer.get("usage") or {}).get("generated_images")
    return data, "default", int(generated) if isinstance(generated, int) else len(data), {}


def _openai(account: Any, plan: Plan, files: up.Files | None) -> Any:
    fields: dict[str, Any] = {"model": plan.model.upstream_model, "prompt": plan.prompt, "n": plan.n}
    if plan.size != "auto":
        fields["size"] = plan.size
    if plan.quality != "auto":
        fields["quality"] = plan.quality
    if plan.output_format != "png":
        fields["output_format"] = plan.output_format
    if plan.background in ("transparent", "opaque", "auto"):
        fields["background"] = plan.background
    if files is not None:
        data = {k: str(v) for k, v in fields.items()}
        return lambda: up.open_(account, "openai", "POST", "/images/edits", data=data, files=files)
    return lambda: up.open_(account, "openai", "POST", "/images/generations", json_body=fields)


def _imagen(account: Any, plan: Plan) -> Any:
    params: dict[str, Any] = {"sampleCount": plan.n}
    if plan.size != "auto":
        params["aspectRatio"] = IMAGEN_RATIO[plan.size]
    body = {"instances": [{"prompt": plan.prompt}], "parameters": params}
    return lambda: up.open_(account, "gemini", "POST", f"/models/{plan.model.upstream_model}:predict", json_body=body)


def _seedream(account: Any, plan: Plan) -> Any:
    body: dict[str, Any] = {"model": plan.model.upstream_model, "prompt": plan.prompt,
                            "size": "2K" if plan.size == "auto" else plan.size,
                            "response_format": plan.response_format, "watermark": False}
    if plan.n > 1:
        body["sequential_image_generation"] = "auto"
        body["sequential_image_generation_options"] = {"max_images": plan.n}
    else:
        body["sequential_image_generation"] = "disabled"
    return lambda: up.open_(account, "ark", "POST", "/images/generations", json_body=body)
