"""Read template.yaml so the local stack and the tests build exactly the deployed tables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# Logical table name in the template -> environment variable the code reads.
TABLE_ENV = {
    "KeysTable": "KEYS_TABLE",
    "AccountsTable": "ACCOUNTS_TABLE",
    "ReservationsTable": "RESERVATIONS_TABLE",
    "UsageTable": "USAGE_TABLE",
    "VideoJobsTable": "VIDEO_JOBS_TABLE",
    "AlertsTable": "ALERTS_TABLE",
    "ResponsesTable": "RESPONSES_TABLE",
}


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (!Ref, !Sub, ...) as dicts."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=1)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    res = load_template()["Resources"]
    return {k: v for k, v in res.items() if kind is None or v["Type"] == kind}


def table_definitions(prefix: str = "bytespike") -> dict[str, dict[str, Any]]:
    """create_table kwargs for every DynamoDB table, keyed by logical name."""
    out: dict[str, dict[str, Any]] = {}
    for logical, res in resources("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        kwargs: dict[str, Any] = {
            "TableName": f"{prefix}-{logical}",
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        out[logical] = {"create": kwargs, "ttl": props.get("TimeToLiveSpecification")}
    return out
