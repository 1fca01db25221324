"""``bytespike``: onboard orgs, fund wallets, hand out keys, read who spent what.

The CLI acts as the operator: it talks to DynamoDB directly (your AWS credentials are
the authority) through the same ``bytespike.admin`` functions the admin API runs, so
both apply the same rules and produce the same records. See docs/ADMIN.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from bytespike.cli.config import DEFAULT_ENV_FILE, ConfigError, Target, resolve
from bytespike.cli.output import emit
from bytespike.errors import GatewayError

KEY_COLUMNS = ["key_id", "kind", "member_id", "label", "status", "quota", "quota_period", "quota_used", "rpm",
               "max_concurrency", "models", "expires_at", "parent_key_id", "digest_prefix"]
WALLET_COLUMNS = ["org_id", "name", "balance", "topped_up"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _globals() -> argparse.ArgumentParser:
    """Connection and output flags, accepted before or after the subcommand."""
    p = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    g = p.add_argument_group("where the tables are")
    g.add_argument("--stack", help="deployed CloudFormation stack name (reads its table outputs)")
    g.add_argument("--region", help="AWS region (default $AWS_REGION or us-east-1)")
    g.add_argument("--endpoint-url", help="DynamoDB endpoint (local stack: read from the env file)")
    g.add_argument("--env-file", help=f"local stack env file (default {DEFAULT_ENV_FILE})")
    g.add_argument("--table-prefix", help="tables are <prefix>-KeysTable, <prefix>-AccountsTable, ...")
    for name in ("keys", "accounts", "reservations", "usage", "alerts"):
        g.add_argument(f"--{name}-table", help=argparse.SUPPRESS)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", dest="fmt", action="store_const", const="json", help="JSON output")
    out.add_argument("--csv", dest="fmt", action="store_const", const="csv", help="CSV output")
    return p


def _credits(raw: str) -> int:
    cleaned = raw.replace("_", "").replace(",", "")
    if not cleaned.isdigit():
        raise argparse.ArgumentTypeError(f"'{raw}' is not a whole number of credits (1 credit = 1 micro-USD)")
    return int(cleaned)


def _when(raw: str) -> datetime:
    """An expiry: ISO date/datetime (UTC if no zone) or relative, e.g. 30d, 12h, 90m."""
    rel = re.fullmatch(r"(\d+)([dhm])", raw.strip())
    if rel:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[rel.group(2)]
        return datetime.now(UTC) + timedelta(**{unit: int(rel.group(1))})
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{raw}' is neither an ISO date/time nor like 30d, 12h") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _percents(raw: str) -> list[int]:
    try:
        return [int(x.strip().rstrip("%")) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{raw}' is not a comma-separated list of percentages") from exc


def _csv_list(raw: str) -> list[str]:
    return [x.strip() for x in raw.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    common = _globals()
    parser = _Parser(prog="bytespike", description=__doc__, parents=[common],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def leaf(group: Any, name: str, help_: str) -> argparse.ArgumentParser:
        return group.add_parser(name, help=help_, description=help_, parents=[common])

    orgs = cmds.add_parser("orgs", help="create and show orgs").add_subparsers(dest="action", required=True,
                                                                               metavar="ACTION")
    p = leaf(orgs, "create", "create an org: its wallet and its master key (shown once)")
    p.add_argument("org_id")
    p.add_argument("--name", default="")
    p.add_argument("--credits", type=_credits, default=0, help="initial top-up in credits")
    p.add_argument("--topup-id", default="initial", help="id of the initial top-up (default: initial)")
    p = leaf(orgs, "show", "show an org and its wallet")
    p.add_argument("org_id")

    wallet = cmds.add_parser("wallet", help="show and top up wallets").add_subparsers(dest="action", required=True,
                                                                                      metavar="ACTION")
    p = leaf(wallet, "show", "show an org's wallet")
    p.add_argument("org_id")
    p = leaf(wallet, "topup", "add credits; idempotent by --id (a replay changes nothing)")
    p.add_argument("org_id")
    p.add_argument("amount", type=_credits, help="credits (1 credit = 1 micro-USD; 1_000_000 = $1)")
    p.add_argument("--id", dest="topup_id", required=True, help="your id for this top-up, e.g. an invoice number")

    keys = cmds.add_parser("keys", help="mint, list, revoke and rotate keys").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    p = leaf(keys, "create", "mint a key (the secret is printed once)")
    p.add_argument("--org", required=True)
    p.add_argument("--master", action="store_true", help="a master key (default: a member's sub-key)")
    p.add_argument("--member", help="member id of a sub-key")
    p.add_argument("--parent", help="parent master key_id (default: the org's only active master)")
    p.add_argument("--label", default="")
    p.add_argument("--quota", type=_credits, help="credits per period")
    p.add_argument("--period", choices=["day", "month"], help="quota period, calendar UTC (default month)")
    p.add_argument("--models", type=_csv_list, help="allowed models, comma-separated")
    p.add_argument("--modalities", type=_csv_list, help="allowed modalities, comma-separated")
    p.add_argument("--expires", type=_when, help="ISO date/time (UTC) or relative: 30d, 12h")
    p.add_argument("--rpm", type=int, help="requests per minute")
    p.add_argument("--concurrency", type=int, dest="max_concurrency",
                   help="requests in flight at once (a 429 beyond it); a master's cap covers its sub-keys")
    p = leaf(keys, "list", "list an org's keys (never secrets)")
    p.add_argument("--org", required=True)
    p.add_argument("--status", choices=["active", "revoked", "all"], default="all")
    for action, text in (("show", "show one key"), ("revoke", "revoke a key (a master's sub-keys stop too)"),
                         ("rotate", "new secret, same key_id and settings (printed once)")):
        p = leaf(keys, action, text)
        p.add_argument("key_id")
        p.add_argument("--org", required=True)

    alerts = cmds.add_parser("alerts", help="spend alerts: thresholds, webhook, emails, events").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    p = leaf(alerts, "show", "an org's alert rules (never the webhook signing secret)")
    p.add_argument("--org", required=True)
    p = leaf(alerts, "set", "replace an org's alert rules (a new webhook signing secret is printed once)")
    p.add_argument("--org", required=True)
    p.add_argument("--wallet", type=_percents, default=[], help="wallet thresholds in %%, e.g. 50,80,100")
    p.add_argument("--quota", type=_percents, default=[], help="member quota thresholds in %%, e.g. 80,100")
    p.add_argument("--webhook", help="https URL that receives signed POSTs")
    p.add_argument("--email", type=_csv_list, default=[], help="addresses, comma-separated")
    p.add_argument("--rotate-secret", action="store_true", help="a new webhook signing secret")
    p = leaf(alerts, "test", "send a test alert through every channel")
    p.add_argument("--org", required=True)
    p = leaf(alerts, "events", "alerts fired, newest first, with their delivery log")
    p.add_argument("--org", required=True)
    p.add_argument("--limit", type=int, default=50)

    p = leaf(cmds, "usage", "usage rows, or --summary per member/model/day")
    p.add_argument("--org", required=True)
    p.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: first of this month, UTC)")
    p.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--member")
    p.add_argument("--key", dest="key_id")
    p.add_argument("--model")
    p.add_argument("--session", dest="session_id", help="one client session (e.g. Claude Code's session id)")
    p.add_argument("--summary", action="store_true", help="aggregate (default groups: member,model,day)")
    p.add_argument("--group-by",
                   help="comma-separated subset of member,model,day,key,modality,session (implies --summary)")
    p.add_argument("--limit", type=int, help="at most this many rows")
    return parser


# ------------------------------------------------------------------ commands
def _run(args: argparse.Namespace, client: Any) -> None:
    from bytespike.admin import keys as admin_keys
    from bytespike.admin import orgs as admin_orgs
    from bytespike.admin import usage as admin_usage
    from bytespike.admin.principal import Principal
    from bytespike.admin.schemas import CreateKey, CreateOrg, TopUp, UsageQuery, parse

    op = Principal.operator()
    fmt = getattr(args, "fmt", None) or "table"
    cmd = (args.command, getattr(args, "action", None))
    if cmd == ("orgs", "create"):
        out = admin_orgs.create_org(client, op, parse(CreateOrg, {"org_id": args.org_id, "name": args.name,
                                                                  "credits": args.credits,
                                                                  "topup_id": args.topup_id}))
        master = out.pop("master_key")
        if fmt == "table":
            emit(fmt, out, WALLET_COLUMNS)
            emit(fmt, {"master_key_id": master["key_id"], "master_secret": master["secret"]})
            _shown_once()
        else:
            emit(fmt, {**out, "master_key": master} if fmt == "json" else
                 {**out, "master_key_id": master["key_id"], "master_secret": master["secret"]})
    elif cmd in (("orgs", "show"), ("wallet", "show")):
        emit(fmt, admin_orgs.get_org(client, op, args.org_id), WALLET_COLUMNS if fmt != "json" else None)
    elif cmd == ("wallet", "topup"):
        out, applied = admin_orgs.top_up(client, op, args.org_id, parse(TopUp, {"amount": args.amount,
                                                                                 "topup_id": args.topup_id}))
        if fmt == "json":
            emit(fmt, out)
        else:
            emit(fmt, {**{c: out[c] for c in WALLET_COLUMNS}, "topup_id": args.topup_id, "amount": args.amount,
                       "applied": "yes" if applied else "no (replay: this id was already applied)"})
    elif cmd == ("keys", "create"):
        body = {"kind": "master" if args.master else "sub", "org_id": args.org, "member_id": args.member,
                "parent_key_id": args.parent, "label": args.label, "quota": args.quota, "quota_period": args.period,
                "models": args.models, "modalities": args.modalities,
                "expires_at": args.expires.isoformat() if args.expires else None, "rpm": args.rpm,
                "max_concurrency": args.max_concurrency}
        view, secret = admin_keys.mint_key(client, op, parse(CreateKey, {k: v for k, v in body.items()
                                                                          if v not in (None, "")}))
        emit(fmt, {**view, "secret": secret}, None if fmt == "json" else [*KEY_COLUMNS, "secret"])
        if fmt == "table":
            _shown_once()
    elif cmd == ("keys", "list"):
        rows = admin_keys.list_keys(client, op, args.org, args.status)
        emit(fmt, rows, None if fmt == "json" else KEY_COLUMNS)
    elif cmd == ("keys", "show"):
        emit(fmt, admin_keys.get_key(client, op, args.org, args.key_id))
    elif cmd == ("keys", "revoke"):
        emit(fmt, admin_keys.revoke_key(client, op, args.org, args.key_id), None if fmt == "json" else KEY_COLUMNS)
    elif cmd == ("keys", "rotate"):
        view, secret = admin_keys.rotate_key(client, op, args.org, args.key_id)
        emit(fmt, {**view, "secret": secret}, None if fmt == "json" else [*KEY_COLUMNS, "secret"])
        if fmt == "table":
            _shown_once()
    elif args.command == "alerts":
        _alerts(args, client, op, fmt)
    elif args.command == "usage":
        query = parse(UsageQuery, {k: v for k, v in {"org_id": args.org, "start": args.start, "end": args.end,
                                                     "member_id": args.member, "key_id": args.key_id,
                                                     "model": args.model, "session_id": args.session_id,
                                                     "group_by": args.group_by}.items() if v})
        admin_usage.check_org(client, op, args.org)
        scope = admin_usage.scope_for(op, query)
        rows = admin_usage.all_rows(client, scope)
        if args.summary or args.group_by:
            groups = admin_usage.parse_groups(args.group_by)
            summary = admin_usage.summarize(rows, groups)
            if fmt == "json":
                emit(fmt, {"org_id": scope.org_id, "start": scope.start.isoformat(), "end": scope.end.isoformat(),
                           **summary})
            else:
                emit(fmt, summary["data"], admin_usage.summary_columns(groups))
                if fmt == "table" and summary["data"]:
                    sys.stderr.write(f"total: {summary['totals']['credits']:,} credits over "
                                     f"{summary['totals']['requests']:,} requests ({scope.start} .. {scope.end})\n")
        else:
            listed = [r for _, r in zip(range(args.limit or sys.maxsize), rows, strict=False)]
            table_cols = ["time", "request_id", "member_id", "key_id", "model", "status", "credits",
                          "input_tokens", "output_tokens"]
            emit(fmt, listed, {"table": table_cols, "csv": admin_usage.ROW_COLUMNS}.get(fmt))


def _alerts(args: argparse.Namespace, client: Any, op: Any, fmt: str) -> None:
    from bytespike.admin.schemas import parse
    from bytespike.alerts import api

    if args.action == "show":
        emit(fmt, api.get_rules(client, op, args.org))
    elif args.action == "set":
        out = api.put_rules(client, op, parse(api.AlertRules, {
            "org_id": args.org, "wallet": args.wallet, "quota": args.quota, "webhook_url": args.webhook,
            "emails": args.email, "rotate_secret": args.rotate_secret}), deployment=False)
        emit(fmt, out)
        if fmt == "table" and out.get("webhook_secret"):
            _shown_once()
    elif args.action == "test":
        emit(fmt, api.send_test(client, op, args.org))
    elif args.action == "events":
        rows = api.events(client, op, args.org, args.limit)
        if fmt == "json":
            emit(fmt, rows)
        else:
            emit(fmt, [{**{k: e.get(k) for k in ("event_id", "type", "threshold", "period", "status", "attempts")},
                        "fired_at": e.get("fired_at"), "deliveries": len(e.get("deliveries") or [])} for e in rows],
                 ["fired_at", "event_id", "type", "threshold", "period", "status", "attempts", "deliveries"])


def _shown_once() -> None:
    sys.stderr.write("Store the secret now: it is shown only once (the gateway keeps its SHA-256 digest).\n")


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"bytespike: error: {' '.join(message.split())}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    target: Target | None = None
    try:
        target = resolve(args, os.environ)
        target.apply()
        from bytespike.admin.client import admin_client

        _run(args, admin_client())
        return 0
    except GatewayError as err:
        return _fail(err.message)
    except ConfigError as err:
        return _fail(str(err), 2)
    except NoCredentialsError:
        return _fail("no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or use the local stack)")
    except EndpointConnectionError:
        endpoint = target.endpoint_url if target else getattr(args, "endpoint_url", None)
        hint = " - is the local stack running (`make dev`)?" if endpoint else ""
        where = endpoint or "AWS"
        return _fail(f"cannot reach DynamoDB at {where}{hint}")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            source = target.source if target else "?"
            return _fail(f"table not found ({', '.join(target.tables.values()) if target else ''}; from {source}): "
                         "check --stack / --table-prefix")
        return _fail(f"DynamoDB {error.get('Code', 'error')}: {error.get('Message', exc)}")
    except BotoCoreError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
