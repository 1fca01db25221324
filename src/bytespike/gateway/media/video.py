"""Video generation as asynchronous jobs (OpenAI videos shape) on Ark Seedance and Gemini Veo.

``POST /v1/videos`` validates, holds ``seconds x per-second rate at the requested
resolution`` (hold first: the upstream job costs money once it exists), creates the
upstream task and stores the job in the VideoJobs table. Nothing ever waits on a job:
``GET /v1/videos/{id}`` polls the upstream when the job is due for a poll, and a scheduled
function (``poll_handler``; the local stack runs it in a loop) polls every open job. When the
upstream reports completion the reservation settles at the seconds and resolution actually
produced; failure, cancellation (``DELETE``) or the job timeout settles it FAILED at 0, and
the release function refunds the hold either way. ``GET /v1/videos/{id}/content`` streams
the result from the upstream. The job's reservation deadline is pushed past the job timeout
so the sweeper never expires a hold whose job is still running.

OpenAI's own videos API (Sora) is not an upstream: openai-python marks it deprecated
("scheduled to permanently shut down on September 24, 2026") and the catalog carries
``retires_at = 2026-09-24`` for sora-2 / sora-2-pro, so those ids answer 410 and hold nothing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from typing import Any

from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bytespike.catalog import Model, catalog
from bytespike.config import settings
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.media import common as c
from bytespike.gateway.pipeline import Call
from bytespike.http.fetch_guard import FetchRefused
from bytespike.providers import Account, accounts_for
from bytespike.providers import media as up
from bytespike.store import ledger
from bytespike.store.dynamo import dynamo, from_item, n, s, to_item
from bytespike.store.keys import KeyRecord

log = logging.getLogger("bytespike.video")
MODALITY = "video"
OPEN = ("queued", "in_progress")
OPEN_SHARDS = 4
RESULT_TTL = {"ark": 24 * 3600, "gemini": 48 * 3600}  # how long upstream result URLs/files live
KEEP_DAYS = 7  # job records, like Ark's task retention
MAX_PROMPT = 4000


# ------------------------------------------------------------------ job records
def _table() -> str:
    return settings().video_jobs_table


async def get_job(job_id: str) -> dict[str, Any] | None:
    resp = await dynamo().call("get_item", TableName=_table(), Key={"id": s(job_id)}, ConsistentRead=True)
    item = resp.get("Item")
    return from_item(item) if item else None


def video_object(job: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``Video`` shape (plus ``credits`` once the job is final)."""
    error = job.get("error")
    out: dict[str, Any] = {
        "id": job["id"], "object": "video", "status": job["status"], "progress": int(job.get("progress", 0)),
        "created_at": int(job["created_at"]), "completed_at": job.get("completed_at"),
        "expires_at": job.get("expires_at"), "error": error if error else None, "model": job["model"],
        "seconds": str(job["seconds"]), "size": job["size"], "prompt": job.get("prompt"),
        "remixed_from_video_id": None,
    }
    if job["status"] not in OPEN:
        out["credits"] = int(job.get("cost", 0))
    return out


def _visible(job: dict[str, Any] | None, key: KeyRecord) -> dict[str, Any]:
    if (job is None or job.get("deleted") or job.get("org_id") != key.org_id
            or (key.kind != "master" and job.get("key_id") != key.key_id)):
        raise GatewayError(Kind.NOT_FOUND, "No video job with that id.", param="video_id")
    return job


# ------------------------------------------------------------------ create
def rate_key(model: Model, size: str) -> str:
    """The price variant of a size: the size itself, or its resolution class (720p, 1080p, 4k)."""
    rates = c.unit_price(model).rates
    if size in rates:
        return size
    w, h = (int(x) for x in size.split("x"))
    short = min(w, h)
    label = "4k" if short >= 2160 else f"{short}p"
    if label not in rates:
        raise c.bad(f"size '{size}' has no price for {model.id}.", "size")
    return label


async def _fields(request: Request) -> tuple[dict[str, Any], tuple[str, bytes, str] | None]:
    """The SDK sends multipart; JSON bodies are accepted too."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await c.read_form(request, max_files=1)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        ref = await c.read_upload(form, "input_reference", model=None, allowed_ext=c.IMAGE_EXT, required=False)
        return fields, ref
    body = await c.read_json(request)
    if body.get("input_reference") is not None:
        raise c.bad("input_reference must be uploaded as a file (multipart/form-data).", "input_reference")
    return body, None


async def create_video(request: Request) -> Response:
    ctx = c.Ctx()
    try:
        key = await auth.authenticate(request)
        fields, reference = await _fields(request)
        if fields.get("model") is None:
            served = sorted(m.id for m in catalog().models.values() if m.modality == MODALITY and not c.retired(m))
            raise c.bad("'model' is required (OpenAI's default, sora-2, was shut down on 2026-09-24). "
                        f"Video models: {', '.join(served)}.", "model")
        model = c.resolve(fields.get("model"), MODALITY)
        c.authorize(key, model, MODALITY)
        prompt = c.as_str(fields, "prompt", required=True, max_len=MAX_PROMPT) or ""
        allowed_seconds = list(model.media.seconds)
        seconds = c.as_int(fields.get("seconds"), "seconds", 1, 600, default=min(allowed_seconds))
        if seconds not in allowed_seconds:
            raise c.bad(f"Invalid 'seconds': {seconds}. {model.id} makes {', '.join(map(str, allowed_seconds))}.", "seconds")
        sizes = list(model.media.sizes)
        size = c.one_of(fields.get("size"), "size", sizes, sizes[0])
        variant = rate_key(model, size)
        ctx.estimated = c.unit_price(model).cost(seconds, variant)
        call = c.new_call(request, key, model, ctx.estimated)
        ctx.request_id = call.request_id
        job_id = "video_" + call.request_id.removeprefix("req_")
        if call.idempotent:
            existing = await get_job(job_id)
            if existing is not None:  # a retried create: the same job, never a second hold
                return _video_response(ctx, _visible(existing, key))
        provider, account = c.provider_of(model)
        opener = _creator(provider.wire, account, model, prompt, seconds, size, reference)
        response = await c.hold_then_open(call, opener, MODALITY)
        try:
            answer = await up.read_json(response)
            upstream_id = str(answer.get("id") or answer.get("name") or "")
            if not upstream_id:
                raise GatewayError(Kind.UPSTREAM, "The upstream did not return a job id.")
        except GatewayError as exc:
            await c.fail(call, exc)
            raise
        job = await _store(call, key, model, job_id, upstream_id, provider.wire, prompt, seconds, size, variant)
        return _video_response(ctx, job)
    except GatewayError as err:
        return ctx.error(err)


def _video_response(ctx: c.Ctx, job: dict[str, Any]) -> Response:
    ctx.estimated = int(job.get("hold", ctx.estimated or 0))
    response = ctx.json(video_object(job))
    response.headers["openai-poll-after-ms"] = str(settings().video_poll_after_ms)
    return response


async def _store(call: Call, key: KeyRecord, model: Model, job_id: str, upstream_id: str, wire: str, prompt: str,
                 seconds: int, size: str, variant: str) -> dict[str, Any]:
    """Write the job, then push the hold's deadline past the job's; undo everything on failure."""
    now = int(time.time())
    deadline = now + settings().video_job_timeout_seconds
    job = {
        "id": job_id, "org_id": key.org_id, "key_id": key.key_id, "member_id": key.member_id,
        "reservation_id": call.reservation_id, "request_id": call.request_id, "model": model.id,
        "provider": model.provider, "wire": wire, "upstream_id": upstream_id, "status": "queued", "progress": 0,
        "seconds": seconds, "size": size, "rate_key": variant, "prompt": prompt[:MAX_PROMPT], "hold": call.hold,
        "created_at": now, "deadline": deadline, "next_poll_at": now, "open_shard": f"S{secrets.randbelow(OPEN_SHARDS)}",
    }
    try:
        await dynamo().call("put_item", TableName=_table(), Item=to_item(job), ConditionExpression="attribute_not_exists(id)")
        await dynamo().call(
            "update_item", TableName=settings().reservations_table, Key={"id": s(call.reservation_id)},
            UpdateExpression="SET expires_at = :e", ConditionExpression="#st = :held",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":e": n(deadline + 600), ":held": s(ledger.HELD)})
    except (ClientError, GatewayError) as exc:
        log.exception("could not record video job %s; cancelling upstream %s", job_id, upstream_id)
        await _cancel_upstream(job)
        await c.fail(call, exc)
        raise GatewayError(Kind.API, "The video job could not be recorded; it was cancelled and nothing was billed.") from exc
    return job


def _creator(wire: str, account: Account, model: Model, prompt: str, seconds: int, size: str,
             reference: tuple[str, bytes, str] | None) -> Any:
    w, h = (int(x) for x in size.split("x"))
    ratio = "16:9" if w >= h else "9:16"
    image = None
    if reference is not None:
        image = (reference[2], base64.b64encode(reference[1]).decode())
    if wire == "ark":
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        if image:
            content.append({"type": "image_url", "image_url": {"url": f"data:{image[0]};base64,{image[1]}"},
                            "role": "first_frame"})
        body = {"model": model.upstream_model, "content": content, "resolution": rate_key(model, size),
                "ratio": ratio, "duration": seconds, "watermark": False}
        return lambda: up.open_(account, "ark", "POST", "/contents/generations/tasks", json_body=body)
    if wire == "gemini":
        instance: dict[str, Any] = {"prompt": prompt}
        if image:
            instance["image"] = {"bytesBase64Encoded": image[1], "mimeType": image[0]}
        body = {"instances": [instance], "parameters": {"aspectRatio": ratio, "resolution": rate_key(model, size),
                                                        "durationSeconds": seconds}}
        return lambda: up.open_(account, "gemini", "POST", f"/models/{model.upstream_model}:predictLongRunning",
                                json_body=body)
    raise GatewayError(Kind.API, f"No video adapter for provider wire '{wire}'.")


# ------------------------------------------------------------------ read, download, cancel
async def _authorized_job(request: Request, video_id: str) -> tuple[KeyRecord, dict[str, Any]]:
    key = await auth.authenticate(request)
    job = _visible(await get_job(video_id) if video_id.startswith("video_") else None, key)
    model = catalog().model(job["model"])
    if model is not None:
        c.authorize(key, model, MODALITY)
    return key, job


async def retrieve_video(request: Request, video_id: str) -> Response:
    ctx = c.Ctx(estimated=None)
    try:
        _, job = await _authorized_job(request, video_id)
        if job["status"] in OPEN and int(job.get("next_poll_at", 0)) <= time.time():
            job = await advance(job)
        return _video_response(ctx, job)
    except GatewayError as err:
        return ctx.error(err)


async def video_content(request: Request, video_id: str) -> Response:
    ctx = c.Ctx(estimated=None)
    try:
        _, job = await _authorized_job(request, video_id)
        variant = request.query_params.get("variant", "video")
        if variant != "video":
            raise c.bad(f"variant '{variant}' is not available for {job['model']}; only 'video'.", "variant")
        if job["status"] in OPEN and int(job.get("next_poll_at", 0)) <= time.time():
            job = await advance(job)
        if job["status"] != "completed" or not job.get("content_url"):
            raise c.bad(f"Video {video_id} is not ready (status: {job['status']}).", "video_id")
        provider = catalog().providers[job["provider"]]
        upstream = await up.download(job["content_url"], accounts_for(provider)[0], job["wire"])

        async def body() -> Any:
            try:
                async for chunk in upstream.iter_bytes():  # cut at the fetch guard's size and time limits
                    yield chunk
            except FetchRefused as exc:
                log.warning("video %s download cut: %s", video_id, exc.reason)
                raise  # abort the response: a truncated file must not look complete
            finally:
                await upstream.aclose()

        headers = {**ctx.headers(), "content-disposition": f'attachment; filename="{video_id}.mp4"',
                   "x-content-type-options": "nosniff"}
        length = upstream.headers.get("content-length")
        if length and length.isdigit():
            headers["content-length"] = length
        # The upstream does not choose how a browser treats the bytes: video/* or a download.
        ctype = upstream.headers.get("content-type", "video/mp4").split(";", 1)[0].strip().lower()
        media_type = ctype if ctype.startswith("video/") else "application/octet-stream"
        return StreamingResponse(body(), media_type=media_type, headers=headers)
    except GatewayError as err:
        return ctx.error(err)


async def delete_video(request: Request, video_id: str) -> Response:
    """Cancel an open job (its hold is released in full) or forget a finished one."""
    ctx = c.Ctx(estimated=None)
    try:
        _, job = await _authorized_job(request, video_id)
        if job["status"] in OPEN:
            await _cancel_upstream(job)
            await _finish(job, "failed", cost=0, error={"code": "cancelled", "message": "Cancelled by the caller."})
        await dynamo().call("update_item", TableName=_table(), Key={"id": s(job["id"])},
                            UpdateExpression="SET deleted = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
        return ctx.json({"id": job["id"], "object": "video.deleted", "deleted": True})
    except GatewayError as err:
        return ctx.error(err)


# ------------------------------------------------------------------ polling and settlement
async def _poll_upstream(job: dict[str, Any]) -> dict[str, Any]:
    """The upstream's view as {status, progress?, content_url?, seconds?, size_key?, error?}."""
    provider = catalog().providers[job["provider"]]
    account = accounts_for(provider)[0]
    if job["wire"] == "ark":
        task = await up.call_json(account, "ark", "GET", f"/contents/generations/tasks/{job['upstream_id']}")
        status = str(task.get("status"))
        if status == "succeeded":
            return {"status": "completed", "content_url": (task.get("content") or {}).get("video_url"),
                    "seconds": task.get("duration"), "size_key": task.get("resolution")}
        if status in ("failed", "cancelled", "expired"):
            err = task.get("error") or {}
            return {"status": "failed", "error": {"code": str(err.get("code") or status),
                                                  "message": str(err.get("message") or f"The upstream task {status}.")}}
        return {"status": "in_progress" if status == "running" else "queued"}
    op = await up.call_json(account, "gemini", "GET", "/" + job["upstream_id"])
    if not op.get("done"):
        return {"status": "in_progress"}
    if op.get("error"):
        err = op["error"]
        return {"status": "failed", "error": {"code": str(err.get("code", "failed")),
                                              "message": str(err.get("message", "The upstream job failed."))}}
    samples = (((op.get("response") or {}).get("generateVideoResponse") or {}).get("generatedSamples") or [])
    uri = (samples[0].get("video") or {}).get("uri") if samples else None
    if not uri:
        return {"status": "failed", "error": {"code": "no_output", "message": "The upstream finished without a video."}}
    return {"status": "completed", "content_url": uri}


async def _cancel_upstream(job: dict[str, Any]) -> None:
    try:
        account = accounts_for(catalog().providers[job["provider"]])[0]
        if job["wire"] == "ark":
            await up.call_json(account, "ark", "DELETE", f"/contents/generations/tasks/{job['upstream_id']}")
        else:
            await up.call_json(account, "gemini", "POST", f"/{job['upstream_id']}:cancel", json_body={})
    except GatewayError as exc:
        log.warning("could not cancel upstream job %s: %s", job.get("upstream_id"), exc)


async def advance(job: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Poll one open job and record what changed; settle or release when it is final."""
    now = time.time() if now is None else now
    if now > int(job["deadline"]):
        await _cancel_upstream(job)
        return await _finish(job, "failed", cost=0, error={"code": "timeout", "message": "The job did not finish in time."})
    try:
        seen = await _poll_upstream(job)
    except GatewayError as exc:
        log.warning("poll of video job %s failed: %s", job["id"], exc)
        return await _touch(job, job["status"], int(job.get("progress", 0)), now)
    if seen["status"] == "completed":
        model = catalog().model(job["model"])
        seconds = int(seen.get("seconds") or job["seconds"])
        key = str(seen.get("size_key") or job["rate_key"])
        if model is None or model.unit_price is None:
            cost = int(job["hold"])
        else:
            price = model.unit_price
            cost = price.cost(seconds, key if key in price.rates else job["rate_key"])
        expires = int(now) + RESULT_TTL.get(job["wire"], 24 * 3600)
        return await _finish(job, "completed", cost=min(cost, int(job["hold"])), content_url=seen.get("content_url"),
                             expires_at=expires, billed_seconds=seconds, billed_key=key)
    if seen["status"] == "failed":
        return await _finish(job, "failed", cost=0, error=seen["error"])
    progress = 50 if seen["status"] == "in_progress" else 0
    return await _touch(job, seen["status"], progress, now)


async def _touch(job: dict[str, Any], status: str, progress: int, now: float) -> dict[str, Any]:
    due = int(now) + max(1, settings().video_poll_after_ms // 1000)
    try:
        await dynamo().call(
            "update_item", TableName=_table(), Key={"id": s(job["id"])},
            UpdateExpression="SET #st = :st, progress = :p, next_poll_at = :due",
            ConditionExpression="#st IN (:q, :r)", ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":st": s(status), ":p": n(progress), ":due": n(due), ":q": s("queued"),
                                       ":r": s("in_progress")})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return await get_job(job["id"]) or job  # someone else finished it meanwhile
    return {**job, "status": status, "progress": progress, "next_poll_at": due}


async def _finish(job: dict[str, Any], status: str, *, cost: int, error: dict[str, str] | None = None,
                  content_url: str | None = None, expires_at: int | None = None, billed_seconds: int = 0,
                  billed_key: str = "") -> dict[str, Any]:
    """Settle the reservation first (conditional, exactly once), then record the final job."""
    model = catalog().model(job["model"])
    if status == "completed":
        usage = (c.units_usage(model, billed_seconds, billed_key if model and model.unit_price and
                               billed_key in model.unit_price.rates else job["rate_key"], seconds=billed_seconds)
                 if model and model.unit_price else {"seconds": billed_seconds})
        settled = await ledger.settle(job["reservation_id"], cost=cost, usage=usage, status="ok", detail="ok")
    else:
        settled = await ledger.settle(job["reservation_id"], cost=0, usage={}, status="failed",
                                      detail=f"failed: {(error or {}).get('code', 'failed')}")
    if not settled:  # settled by a concurrent poll, or expired by the sweeper: record what the ledger says
        res = await ledger.get_reservation(job["reservation_id"])
        cost = int((res or {}).get("cost") or 0)
    now = int(time.time())
    names = {"#st": "status"}
    values: dict[str, Any] = {":st": s(status), ":p": n(100 if status == "completed" else int(job.get("progress", 0))),
                              ":c": n(cost), ":t": n(now), ":ttl": n(now + KEEP_DAYS * 86400), ":q": s("queued"),
                              ":r": s("in_progress")}
    sets = ["#st = :st", "progress = :p", "cost = :c", "completed_at = :t", "#ttl = :ttl"]
    names["#ttl"] = "ttl"
    if error:
        sets.append("#err = :e")
        names["#err"] = "error"
        values[":e"] = {"M": to_item(error)}
    if content_url:
        sets.append("content_url = :u")
        values[":u"] = s(content_url)
    if expires_at:
        sets.append("expires_at = :x")
        values[":x"] = n(expires_at)
    try:
        await dynamo().call(
            "update_item", TableName=_table(), Key={"id": s(job["id"])},
            UpdateExpression="SET " + ", ".join(sets) + " REMOVE open_shard",
            ConditionExpression="#st IN (:q, :r)", ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return await get_job(job["id"]) or job
    final = {**job, "status": status, "cost": cost, "completed_at": now}
    final["progress"] = 100 if status == "completed" else int(job.get("progress", 0))
    final.update({k: v for k, v in (("error", error), ("content_url", content_url), ("expires_at", expires_at)) if v})
    final.pop("open_shard", None)
    return final


async def poll_open_jobs(now: float | None = None, concurrency: int = 8) -> dict[str, int]:
    """The scheduled poller: every open job due for a poll, a few at a time."""
    now = time.time() if now is None else now
    due: list[dict[str, Any]] = []
    for shard in range(OPEN_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": _table(), "IndexName": "open-by-poll",
            "KeyConditionExpression": "open_shard = :s AND next_poll_at <= :now",
            "ExpressionAttributeValues": {":s": s(f"S{shard}"), ":now": n(int(now))},
        }
        while True:
            page = await dynamo().call("query", **kwargs)
            due.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    counts = {"polled": 0, "completed": 0, "failed": 0}
    gate = asyncio.Semaphore(concurrency)

    async def one(job: dict[str, Any]) -> None:
        async with gate:
            try:
                after = await advance(job, now)
            except Exception:
                log.exception("advancing video job %s failed", job.get("id"))
                return
            counts["polled"] += 1
            if after["status"] in ("completed", "failed"):
                counts[after["status"]] += 1

    await asyncio.gather(*(one(j) for j in due))
    return counts


def poll_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Lambda entry (scheduled): one pass over the open jobs, clients closed at the end."""

    async def run() -> dict[str, int]:
        from bytespike.providers import HTTP

        try:
            return await poll_open_jobs()
        finally:
            await HTTP.close()
            await dynamo().close()

    return asyncio.run(run())
