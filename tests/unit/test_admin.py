"""Admin logic without a stack: periods, scope rules, validation, aggregation, CSV, cursors, CLI config."""

from __future__ import annotations

import argparse
import csv
import io
import time
import types
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bytespike.admin import keys as admin_keys
from bytespike.admin import operator
from bytespike.admin import usage as admin_usage
from bytespike.admin.principal import Principal
from bytespike.admin.schemas import CreateKey, CreateOrg, TopUp, UsageQuery, parse
from bytespike.catalog import catalog
from bytespike.cli import config as cli_config
from bytespike.cli.main import build_parser
from bytespike.errors import GatewayError, Kind
from bytespike.gateway import auth
from bytespike.gateway.pipeline import Call
from bytespike.store import keys, ledger


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def _record(**kw: object) -> keys.KeyRecord:
    base: dict[str, object] = {"digest": "d" * 64, "key_id": "key_a", "org_id": "org-a", "kind": "sub",
                               "member_id": "alice"}
    return keys.KeyRecord(**{**base, **kw})  # type: ignore[arg-type]


# ------------------------------------------------------------------ periods
@pytest.mark.parametrize(("period", "before", "after"), [("day", "2026-01-31", "2026-02-01"), ("month", "2026-01", "2026-02")])
def test_period_label_rolls_over_on_the_utc_calendar(period: str, before: str, after: str) -> None:
    last = _ts("2026-01-31T23:59:59.999")
    assert ledger.period_label(period, last) == before
    assert ledger.period_label(period, last + 0.001) == after
    # UTC, not local time: 23:30 UTC on the 31st is still the 31st wherever the function runs.
    assert ledger.period_label(period, _ts("2026-01-31T23:30:00")) == before


def test_the_hold_charges_the_period_current_at_request_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time-shift the ledger's clock across midnight: the same key's next hold lands in a fresh member item."""
    model = catalog().model("claude-haiku-5-5")
    assert model is not None
    key = _record(quota=1000, quota_period="day")
    clock = types.SimpleNamespace(time=lambda: _ts("2026-03-31T23:59:59"))
    monkeypatch.setattr(ledger, "time", clock)
    call = Call(request_id="req_1", surface="anthropic", key=key, model=model, hold=100, reservation_id="req_1")
    before = call.hold_record()
    clock.time = lambda: _ts("2026-04-01T00:00:00")
    after = call.hold_record()
    assert ([q.period for q in before.quotas], [q.period for q in after.quotas]) == (["2026-03-31"], ["2026-04-01"])
    member_keys = [i["Update"]["Key"]["sk"]["S"] for i in ledger._hold_items(after, clock.time()) if "Update" in i]
    assert "MEMBER#alice#2026-04-01" in member_keys
    # The quota condition is on the hold's own item: a full March 31 cannot refuse April 1.
    quota_item = next(i["Update"] for i in ledger._hold_items(after, clock.time())
                      if i.get("Update", {}).get("Key", {}).get("sk", {}).get("S", "").startswith("MEMBER#"))
    assert quota_item["ConditionExpression"] == "attribute_not_exists(used) OR used <= :limit"
    assert quota_item["ExpressionAttributeValues"][":limit"] == {"N": "900"}


def test_rpm_window_is_the_utc_minute() -> None:
    label, end = auth.rpm_window(_ts("2026-05-01T12:34:59.5"))
    assert label == "2026-05-01T12:34" and end == _ts("2026-05-01T12:35:00")


# ------------------------------------------------------------------ roles
def test_roles_before_targets() -> None:
    op, master, member = Principal.operator(), Principal.of_key(_record(kind="master")), Principal.of_key(_record())
    with pytest.raises(GatewayError) as err:
        member.require("operator", "master")
    assert err.value.kind is Kind.PERMISSION
    with pytest.raises(GatewayError) as err:
        master.require("operator")
    assert err.value.kind is Kind.PERMISSION
    assert master.org_for(None) == "org-a" and master.org_for("org-a") == "org-a"
    with pytest.raises(GatewayError) as err:
        master.org_for("org-b")  # another org: 404, the same answer whether it exists or not
    assert err.value.kind is Kind.NOT_FOUND
    with pytest.raises(GatewayError) as err:
        op.org_for(None)
    assert err.value.kind is Kind.INVALID_REQUEST and err.value.param == "org_id"


def test_sub_keys_never_widen_their_master() -> None:
    parent = frozenset({"claude-haiku-5-5"})
    assert admin_keys._narrow("models", None, frozenset({"x"})) == {"x"}
    assert admin_keys._narrow("models", parent, None) == parent
    assert admin_keys._narrow("models", parent, parent) == parent
    with pytest.raises(GatewayError) as err:
        admin_keys._narrow("models", parent, frozenset({"claude-haiku-5-5", "gpt-x"}))
    assert err.value.kind is Kind.PERMISSION and err.value.param == "models"


def test_member_usage_is_pinned_to_its_own_key() -> None:
    member = Principal.of_key(_record(key_id="key_mine"))
    scope = admin_usage.scope_for(member, UsageQuery(), today=date(2026, 5, 17))
    assert (scope.org_id, scope.key_id, scope.start, scope.end) == ("org-a", "key_mine", date(2026, 5, 1),
                                                                   date(2026, 5, 17))
    with pytest.raises(GatewayError) as err:
        admin_usage.scope_for(member, UsageQuery(key_id="key_other"))
    assert err.value.kind is Kind.NOT_FOUND
    with pytest.raises(GatewayError) as err:
        admin_usage.scope_for(member, UsageQuery(org_id="org-b"))
    assert err.value.kind is Kind.NOT_FOUND
    with pytest.raises(GatewayError):
        admin_usage.scope_for(member, UsageQuery(start=date(2026, 5, 2), end=date(2026, 5, 1)))


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("model", "body", "param"), [
    (TopUp, {"amount": "100", "topup_id": "t"}, "amount"),  # money is a strict integer
    (TopUp, {"amount": 1.5, "topup_id": "t"}, "amount"),
    (TopUp, {"amount": 0, "topup_id": "t"}, "amount"),
    (TopUp, {"amount": 5}, "topup_id"),
    (CreateOrg, {"org_id": "Has Spaces"}, "org_id"),
    (CreateKey, {"member_id": "a", "quota_perod": "day"}, "quota_perod"),  # typo: refused, not ignored
    (CreateKey, {"member_id": "a", "quota_period": "week", "quota": 5}, "quota_period"),
    (CreateKey, {"member_id": "a", "models": []}, "models"),
    (CreateKey, {"member_id": "a", "rpm": 0}, "rpm"),
])
def test_validation_names_the_field(model: type, body: dict, param: str) -> None:
    with pytest.raises(GatewayError) as err:
        parse(model, body)
    assert err.value.kind is Kind.INVALID_REQUEST and err.value.param == param
    assert err.value.message.startswith(param)


# ------------------------------------------------------------------ aggregation, CSV, cursors
def _row(time_: str, member: str, model: str, credits: int, status: str = "SETTLED", **tokens: int) -> dict:
    return {"time": time_, "member_id": member, "model": model, "key_id": f"key_{member}", "modality": "chat",
            "status": status, "credits": credits,
            **{c: tokens.get(c, 0) for c in admin_usage.TOKEN_FIELDS}}


def test_summary_per_member_model_day() -> None:
    rows = [
        _row("2026-05-01T10:00:00.000Z", "alice", "m1", 10, input_tokens=3, output_tokens=4),
        _row("2026-05-01T11:00:00.000Z", "alice", "m1", 5, output_tokens=2),
        _row("2026-05-01T12:00:00.000Z", "alice", "m1", 0, status="FAILED"),
        _row("2026-05-02T00:00:00.000Z", "alice", "m1", 7),
        _row("2026-05-01T12:00:00.000Z", "bob", "m2", 1, cache_read_tokens=9),
    ]
    out = admin_usage.summarize(rows)
    assert [(d["member_id"], d["model"], d["day"], d["requests"], d["credits"]) for d in out["data"]] == [
        ("alice", "m1", "2026-05-01", 3, 15), ("alice", "m1", "2026-05-02", 1, 7), ("bob", "m2", "2026-05-01", 1, 1)]
    assert out["data"][0]["failed"] == 1 and out["data"][0]["output_tokens"] == 6
    assert out["totals"]["credits"] == 23 and out["totals"]["cache_read_tokens"] == 9
    by_member = admin_usage.summarize(rows, admin_usage.parse_groups("member"))
    assert {d["member_id"]: d["credits"] for d in by_member["data"]} == {"alice": 22, "bob": 1}
    with pytest.raises(GatewayError) as err:
        admin_usage.parse_groups("member,colour")
    assert err.value.param == "group_by"


def test_csv_cells_cannot_start_a_formula() -> None:
    text = admin_usage.to_csv([{"a": "=HYPERLINK(1)", "b": "-1+1", "c": 5, "d": {"x": 1}, "e": None}],
                              ["a", "b", "c", "d", "e"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", "b", "c", "d", "e"]
    assert rows[1] == ["'=HYPERLINK(1)", "'-1+1", "5", '{"x":1}', ""]


def test_cursor_only_pages_its_own_scope() -> None:
    a = admin_usage.Scope("org-a", date(2026, 5, 1), date(2026, 5, 2))
    cursor = admin_usage.encode_cursor({"pk": {"S": "ORG#org-a"}, "sk": {"S": "2026-05-01T00:00:00.000Z#req_1"}})
    assert admin_usage.decode_cursor(cursor, a)["pk"] == {"S": "ORG#org-a"}
    b = admin_usage.Scope("org-b", date(2026, 5, 1), date(2026, 5, 2))
    mine = admin_usage.Scope("org-a", date(2026, 5, 1), date(2026, 5, 2), key_id="key_m")
    for bad_scope, bad_cursor in ((b, cursor), (mine, cursor), (a, "not-base64!"), (a, "e30")):
        with pytest.raises(GatewayError) as err:
            admin_usage.decode_cursor(bad_cursor, bad_scope)
        assert err.value.param == "cursor"


# ------------------------------------------------------------------ operator credential
def test_operator_credential_from_env_and_ssm(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "op-" + "x" * 40
    monkeypatch.delenv(operator.PARAM_ENV, raising=False)
    monkeypatch.setenv(operator.VALUE_ENV, secret)
    assert operator.matches(secret) and not operator.matches(secret + "y") and not operator.matches("")
    monkeypatch.setenv(operator.VALUE_ENV, "short")
    assert not operator.matches("short")  # a weak credential disables operator access instead
    monkeypatch.delenv(operator.VALUE_ENV)
    assert not operator.matches(secret)
    calls: list[tuple] = []

    def fake_get_parameter(name: str, **kw: object) -> str:
        calls.append((name, kw))
        return secret

    import aws_lambda_powertools.utilities.parameters as params

    monkeypatch.setattr(params, "get_parameter", fake_get_parameter)
    monkeypatch.setenv(operator.PARAM_ENV, "/bytespike/operator-key")
    assert operator.matches(secret)
    assert calls == [("/bytespike/operator-key", {"decrypt": True, "max_age": 300})]


# ------------------------------------------------------------------ CLI configuration
def _args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args([*argv, "wallet", "show", "demo"])


def test_cli_reads_a_deployed_stack_outputs() -> None:
    outputs = {"KeysTableName": "k", "AccountsTableName": "a", "ReservationsTableName": "r", "UsageTableName": "u"}
    seen: list[tuple[str, str]] = []

    def fake(stack: str, region: str) -> dict[str, str]:
        seen.append((stack, region))
        return outputs

    env = {"DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:1", "KEYS_TABLE": "stale"}
    target = cli_config.resolve(_args(["--stack", "prod", "--region", "eu-west-1"]), env, outputs=fake)
    assert seen == [("prod", "eu-west-1")]
    assert target.endpoint_url is None  # a deployed stack means AWS, whatever the shell exported
    assert target.tables == {"KEYS_TABLE": "k", "ACCOUNTS_TABLE": "a", "RESERVATIONS_TABLE": "r", "USAGE_TABLE": "u"}
    applied = dict(env)
    target.apply(applied)
    assert "DYNAMODB_ENDPOINT_URL" not in applied and applied["AWS_REGION"] == "eu-west-1"
    with pytest.raises(cli_config.ConfigError, match="UsageTableName"):
        cli_config.resolve(_args(["--stack", "prod"]), {}, outputs=lambda s, r: {"KeysTableName": "k"})


def test_cli_finds_the_local_stack(tmp_path: Path) -> None:
    env_file = tmp_path / "dev.env"
    env_file.write_text("export BYTESPIKE_DYNAMODB_URL=http://127.0.0.1:9\n")
    tables = ["x-KeysTable", "x-AccountsTable", "x-ReservationsTable", "x-UsageTable", "other"]
    target = cli_config.resolve(_args(["--env-file", str(env_file)]), {}, list_tables=lambda e, r: tables)
    assert target.endpoint_url == "http://127.0.0.1:9" and target.tables["USAGE_TABLE"] == "x-UsageTable"
    flags = cli_config.resolve(_args(["--endpoint-url", "http://h:1", "--table-prefix", "p", "--keys-table", "K"]), {})
    assert flags.tables == {"KEYS_TABLE": "K", "ACCOUNTS_TABLE": "p-AccountsTable",
                            "RESERVATIONS_TABLE": "p-ReservationsTable", "USAGE_TABLE": "p-UsageTable",
                            "ALERTS_TABLE": "p-AlertsTable"}
    with pytest.raises(cli_config.ConfigError, match="table-prefix"):
        cli_config.resolve(_args(["--endpoint-url", "http://h:1"]), {}, list_tables=lambda e, r: [*tables, "y-KeysTable"])
    with pytest.raises(cli_config.ConfigError, match="--stack"):
        cli_config.resolve(_args(["--env-file", str(env_file) + ".missing"]), {})


def test_cli_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["wallet", "topup", "demo", "1.5", "--id", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "whole number of credits" in err


def test_key_view_never_has_a_secret() -> None:
    view = admin_keys.key_view(_record(quota=10, quota_period="month", created_at=int(time.time())), 3)
    assert "secret" not in view and "digest" not in view and view["digest_prefix"] == "d" * 8
    assert view["quota_used"] == 3


def test_cli_table_output_aligns_and_marks_missing_values() -> None:
    from bytespike.cli.output import emit

    buf = io.StringIO()
    emit("table", [{"key_id": "key_a", "quota": 1500, "models": None}, {"key_id": "key_bb", "quota": 20,
                                                                        "models": ["m1", "m2"]}],
         ["key_id", "quota", "models"], out=buf)
    lines = buf.getvalue().splitlines()
    assert lines == ["KEY_ID  QUOTA  MODELS", "key_a   1,500  -", "key_bb     20  m1,m2"]


class _FakeKeys:
    """Just enough of a DynamoDB client: a by-org index that lags behind the table."""

    def __init__(self, table: list[keys.KeyRecord], index: list[keys.KeyRecord]) -> None:
        self.table = {keys.key_pk(r.digest): r.to_item() for r in table}
        self.index = [r.to_item() for r in index]

    def query(self, **kw: object) -> dict:
        return {"Items": self.index}

    def get_item(self, TableName: str, Key: dict, ConsistentRead: bool) -> dict:  # boto3 names
        item = self.table.get(Key["pk"]["S"])
        return {"Item": item} if item else {}


def test_a_lagging_index_still_finds_a_rotated_master() -> None:
    """Right after a rotation the index may only know the first digest: its tombstone leads on."""
    anchor = _record(digest="a" * 64, kind="master", status="rotated", successor="c" * 64)
    current = _record(digest="c" * 64, kind="master", origin_digest="a" * 64)
    fake = _FakeKeys([anchor, current], index=[anchor])
    assert admin_keys._current(fake, "org-a", "key_a").digest == "c" * 64
    with pytest.raises(GatewayError) as err:
        admin_keys._current(fake, "org-b", "key_a")  # the same key id is not found from another org
    assert err.value.kind is Kind.NOT_FOUND
    gone = _FakeKeys([], index=[current])  # a sub-key rotated away, index not caught up yet
    with pytest.raises(GatewayError):
        admin_keys._current(gone, "org-a", "key_a")
