"""Stored responses (issue 17): ``store: true``, ``previous_response_id``, GET/DELETE/cancel/input_items.

The gateway owns the conversation state for every model (docs/ARCHITECTURE.md, "Stored responses"):
a response kept with ``store: true`` is in the org's partition of the Responses table, so another
gateway process (another Lambda) reads it and continues it; the upstream always gets the whole
conversation (OpenAI with ``store: false`` and no ``previous_response_id``: the pool's accounts are
separate orgs). Only the key that stored a response reads, continues or deletes it. Stateless unless
asked: without ``store: true`` nothing is kept.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import openai
import pytest

from bytespike.store import conversations
from tests.support.stack import Stack

MODELS = ["claude-haiku-5-5", "gpt-6-luna", "gemini-3.5-flash-lite", "deepseek-flash", "doubao-seed-2-1-lite"]


def _upstream_bodies(stack: Stack, tag: str) -> list[dict[str, Any]]:
    return [r["body"] for r in stack.sim_requests(tag) if isinstance(r.get("body"), dict)]


def _texts(value: Any) -> str:
    """Every string in a request body (where the conversation ended up, whatever the wire)."""
    if isinstance(value, dict):
        return " ".join(_texts(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_texts(v) for v in value)
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize("model", MODELS)
def test_previous_response_id_continues_a_stored_conversation_on_another_gateway(
        stack: Stack, production_gateway: str, model: str) -> None:
    """Stored on one gateway process, read and continued on another (another Lambda), for every
    provider; the upstream got the whole conversation; every call billed as usual."""
    org = stack.new_org(50_000_000)
    tag = secrets.token_hex(4)
    client = stack.openai(org.master_key)
    first = client.responses.create(model=model, input=f"My code word is {tag}. [[sim words=6]]", store=True,
                                    max_output_tokens=300)
    assert first.store is True and first.status == "completed"

    other = openai.OpenAI(api_key=org.master_key, base_url=production_gateway + "/v1", max_retries=0)
    fetched = other.responses.retrieve(first.id)
    assert fetched.id == first.id and fetched.output_text == first.output_text
    assert fetched.usage.model_extra["credits"] == first.usage.model_extra["credits"]  # type: ignore[union-attr]

    second = other.responses.create(model=model, input=f"What is my code word? {tag}-2", previous_response_id=first.id,
                                    store=True, max_output_tokens=300)
    assert second.status == "completed" and second.previous_response_id == first.id and second.store is True
    assert second.usage.input_tokens > first.usage.input_tokens  # type: ignore[union-attr]
    third = client.responses.create(model=model, input=f"And again? {tag}-3", previous_response_id=second.id,
                                    max_output_tokens=300)
    assert third.status == "completed" and third.store is False

    # The upstream of the third call (this stack's simulator) got all three turns and both answers.
    [upstream] = [b for b in _upstream_bodies(stack, f"{tag}-3")]
    seen = _texts(upstream)
    for text in (f"My code word is {tag}", first.output_text, f"{tag}-2", second.output_text, f"{tag}-3"):
        assert text in seen, (text, upstream)
    if model.startswith("gpt"):  # OpenAI: the conversation as input items, nothing kept upstream
        assert upstream["store"] is False and "previous_response_id" not in upstream
    stack.wait_all_released(org.org_id)
    assert stack.assert_conservation(org.org_id)["billed"] > 0
    assert other.responses.retrieve(second.id).output_text == second.output_text
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(third.id)  # not kept: store was not asked


@pytest.mark.parametrize("model", ["claude-haiku-5-5", "gpt-6-luna"])
def test_a_streamed_response_is_stored_before_its_last_event(stack: Stack, model: str) -> None:
    """The stream's terminal event leaves only after the response is stored, so a client that
    continues the moment it sees ``response.completed`` finds it."""
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    with client.responses.stream(model=model, input="Stream it [[sim words=12 deltas=4]]", store=True,
                                 max_output_tokens=300) as stream:
        for event in stream:
            if event.type == "response.completed":
                stored = client.responses.retrieve(event.response.id)
                assert stored.output_text == event.response.output_text
        final = stream.get_final_response()
    follow = client.responses.create(model=model, input="Next", previous_response_id=final.id, max_output_tokens=200)
    assert follow.status == "completed"


def test_stateless_by_default_and_unknown_ids_are_openais_errors(stack: Stack) -> None:
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    plain = client.responses.create(model="claude-haiku-5-5", input="Hi", max_output_tokens=100)
    assert plain.store is False
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.retrieve(plain.id)
    assert missing.value.body["message"] == f"No response found with id '{plain.id}'."  # type: ignore[index]
    for model in ("claude-haiku-5-5", "gpt-6-luna"):
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(model=model, input="Go on", previous_response_id=plain.id)
        assert refused.value.body == {"message": f"Previous response with id '{plain.id}' not found.",  # type: ignore[comparison-overlap]
                                      "type": "invalid_request_error", "param": "previous_response_id", "code": None}
        item = stack.ddb.get_item(TableName=stack.tables["RESERVATIONS_TABLE"],
                                  Key={"id": {"S": refused.value.response.headers["request-id"]}}).get("Item")
        assert item is None  # nothing was held
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(plain.id)


def test_only_the_key_that_stored_a_response_reads_continues_or_deletes_it(stack: Stack) -> None:
    org, stranger = stack.new_org(50_000_000), stack.new_org(50_000_000)
    sub = stack.mint(org.master_key, member_id="teammate")["secret"]
    owner = stack.openai(org.master_key)
    kept = owner.responses.create(model="gemini-3.5-flash-lite", input="Secret plan", store=True, max_output_tokens=100)
    for key in (sub, stranger.master_key):
        other = stack.openai(key)
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(kept.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.input_items.list(kept.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(kept.id)
        with pytest.raises(openai.BadRequestError):
            other.responses.create(model="gemini-3.5-flash-lite", input="Go on", previous_response_id=kept.id)
    assert owner.responses.retrieve(kept.id).id == kept.id


def test_delete_cancel_and_input_items(stack: Stack) -> None:
    org = stack.new_org(50_000_000)
    client = stack.openai(org.master_key)
    first = client.responses.create(model="deepseek-flash", input="One", store=True, max_output_tokens=100)
    second = client.responses.create(model="deepseek-flash", input=[{"role": "user", "content": "Two"}],
                                     previous_response_id=first.id, store=True, max_output_tokens=100)
    items = client.responses.input_items.list(second.id, order="asc")
    assert [i.type for i in items.data] == ["message", "message", "message"]  # One, its answer, Two
    assert items.data[0].content[0].text == "One" and items.data[2].content[0].text == "Two"  # type: ignore[union-attr]
    newest = client.responses.input_items.list(second.id, limit=1)
    assert newest.data[0].content[0].text == "Two" and newest.has_more  # type: ignore[union-attr]

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.cancel(second.id)
    assert "background" in refused.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_doesnotexist")

    deleted = client.responses.delete(first.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    raw = httpx.delete(f"{stack.base_url}/v1/responses/{second.id}", headers={"authorization": f"Bearer {org.master_key}"})
    assert raw.json() == {"id": second.id, "object": "response", "deleted": True}
    for gone in (first.id, second.id):
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(gone)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="deepseek-flash", input="Three", previous_response_id=second.id)


def test_background_mode_is_refused_before_anything_is_held(stack: Stack) -> None:
    org = stack.new_org(50_000_000)
    with pytest.raises(openai.BadRequestError) as refused:
        stack.openai(org.master_key).responses.create(model="gpt-6-luna", input="Hi", background=True)
    assert refused.value.body["param"] == "background"  # type: ignore[index]
    assert stack.assert_conservation(org.org_id)["billed"] == 0


def test_a_record_larger_than_an_item_is_stored_in_parts(stack: Stack) -> None:
    """DynamoDB items hold 400 KB; a long conversation is cut into parts written before its head and
    read back whole (the store itself, against the stack's DynamoDB: Stack points this process at it)."""
    import asyncio
    response = {"id": f"resp_{secrets.token_hex(6)}", "object": "response", "created_at": 1, "status": "completed",
                "model": "claude-haiku-5-5", "output": [{"type": "message", "role": "assistant",
                                                         "content": [{"type": "output_text", "text": "ok"}]}]}
    noise = [{"role": "user", "content": secrets.token_urlsafe(300_000)} for _ in range(3)]  # incompressible
    record = conversations.StoredResponse(response=response, input=noise)

    async def roundtrip() -> tuple[Any, Any, Any, bool]:
        await conversations.save("org-parts", "key-a", record)
        back = await conversations.load("org-parts", "key-a", response["id"])
        other_key = await conversations.load("org-parts", "key-b", response["id"])
        other_org = await conversations.load("org-other", "key-a", response["id"])
        deleted = await conversations.delete("org-parts", "key-a", response["id"])
        return back, other_key, other_org, deleted

    back, other_key, other_org, deleted = asyncio.run(roundtrip())
    items = stack.ddb.query(TableName=stack.tables["RESPONSES_TABLE"], KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": "ORG#org-parts"}})["Items"]
    assert back is not None and back.input == noise and back.response == response
    assert other_key is None and other_org is None and deleted and items == []
