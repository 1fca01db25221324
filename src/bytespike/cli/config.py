"""Where the CLI's DynamoDB tables are: flags, a deployed stack's outputs, the environment,
or the local stack (``.bytespike/dev.env`` names its moto endpoint; tables are found by name).

Resolution, per setting (first found wins):
  endpoint: --endpoint-url, then (without --stack) $DYNAMODB_ENDPOINT_URL, $BYTESPIKE_DYNAMODB_URL,
            the env file's BYTESPIKE_DYNAMODB_URL; none means AWS itself.
  tables:   --keys-table etc., then --stack's outputs (KeysTableName...), then --table-prefix
            + logical name, then $KEYS_TABLE etc., then $BYTESPIKE_TABLE_PREFIX, then (local
            endpoint) the one prefix whose tables exist there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Logical table -> (settings env var, CloudFormation output, CLI flag dest).
TABLES = {
    "KeysTable": ("KEYS_TABLE", "KeysTableName", "keys_table"),
    "AccountsTable": ("ACCOUNTS_TABLE", "AccountsTableName", "accounts_table"),
    "ReservationsTable": ("RESERVATIONS_TABLE", "ReservationsTableName", "reservations_table"),
    "UsageTable": ("USAGE_TABLE", "UsageTableName", "usage_table"),
    "AlertsTable": ("ALERTS_TABLE", "AlertsTableName", "alerts_table"),
}
OPTIONAL = {"AlertsTable"}  # stacks deployed before alerts have none; only `bytespike alerts` needs it
DEFAULT_ENV_FILE = ".bytespike/dev.env"


class ConfigError(Exception):
    """The CLI cannot tell which tables to use (reported as one line)."""


@dataclass(frozen=True)
class Target:
    endpoint_url: str | None
    region: str
    tables: dict[str, str]  # env var -> table name
    source: str

    def apply(self, environ: dict[str, str] | None = None) -> None:
        """Point ``bytespike.config.settings()`` (and so the shared store code) at this target."""
        env = os.environ if environ is None else environ
        env.update(self.tables)
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        if self.endpoint_url:
            env["DYNAMODB_ENDPOINT_URL"] = self.endpoint_url
            if not env.get("AWS_ACCESS_KEY_ID") and not env.get("AWS_PROFILE"):
                env["AWS_ACCESS_KEY_ID"] = env["AWS_SECRET_ACCESS_KEY"] = "local"  # moto accepts anything
        else:
            env.pop("DYNAMODB_ENDPOINT_URL", None)
        from bytespike.config import reset_settings

        reset_settings()


def read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):]
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            out[name.strip()] = value.strip().strip("'\"")
    return out


def stack_outputs(stack: str, region: str) -> dict[str, str]:
    import boto3
    from botocore.exceptions import ClientError

    cfn = boto3.client("cloudformation", region_name=region)
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        raise ConfigError(f"cannot read stack '{stack}' in {region}: {exc.response['Error'].get('Message', exc)}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def local_tables(endpoint_url: str, region: str) -> list[str]:
    import boto3
    from botocore.config import Config

    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region,
                          aws_access_key_id="local", aws_secret_access_key="local",  # moto accepts any
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
    return list(client.list_tables().get("TableNames", []))


def resolve(
    args: Any,
    environ: Mapping[str, str],
    *,
    outputs: Callable[[str, str], dict[str, str]] = stack_outputs,
    list_tables: Callable[[str, str], list[str]] = local_tables,
) -> Target:
    opt = lambda name: getattr(args, name, None)  # noqa: E731 - flags may be absent (SUPPRESS defaults)
    region = opt("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    stack = opt("stack")
    endpoint = opt("endpoint_url")
    source = "flags"
    if not stack and not endpoint:
        env_file = read_env_file(Path(opt("env_file") or environ.get("BYTESPIKE_ENV_FILE") or DEFAULT_ENV_FILE))
        endpoint = (environ.get("DYNAMODB_ENDPOINT_URL") or environ.get("BYTESPIKE_DYNAMODB_URL")
                    or env_file.get("BYTESPIKE_DYNAMODB_URL"))
        source = "local stack" if endpoint else "environment"
    found = outputs(stack, region) if stack else {}
    if stack:
        source = f"stack {stack} ({region})"
    flag_prefix, env_prefix = opt("table_prefix"), environ.get("BYTESPIKE_TABLE_PREFIX")
    tables: dict[str, str] = {}
    missing: list[str] = []
    for logical, (var, output, dest) in TABLES.items():
        name = opt(dest) or found.get(output) or (f"{flag_prefix}-{logical}" if flag_prefix else None)
        if name is None and not stack:
            name = environ.get(var) or (f"{env_prefix}-{logical}" if env_prefix else None)
        if name is not None:
            tables[var] = name
        elif not (stack and logical in OPTIONAL):
            missing.append(logical)
    if missing and stack:
        raise ConfigError(f"stack '{stack}' has no output for {', '.join(missing)} (expected "
                          f"{', '.join(TABLES[m][1] for m in missing)})")
    if missing and endpoint:
        prefixes = sorted({t[: -len("-KeysTable")] for t in list_tables(endpoint, region) if t.endswith("-KeysTable")})
        if len(prefixes) != 1:
            raise ConfigError(f"{len(prefixes)} sets of ByteSpike tables at {endpoint}"
                              f"{' (' + ', '.join(prefixes) + ')' if prefixes else ''}; pass --table-prefix")
        for logical in missing:
            tables[TABLES[logical][0]] = f"{prefixes[0]}-{logical}"
        missing = []
    if missing:
        raise ConfigError("no tables to use: pass --stack NAME (deployed), start the local stack (`make dev`), "
                          "or name them (--table-prefix / --keys-table ...)")
    return Target(endpoint, region, tables, source)
