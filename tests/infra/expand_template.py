"""Expand template.yaml with the SAM translator offline, so cfn-lint checks the real resources.

cfn-lint validates SAM resources only against SAM's own schema; properties such as a
function URL's InvokeMode or an event source's BatchSize are checked only once expanded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class _NoIamPolicies(ManagedPolicyLoader):
    """SAM's managed-policy lookup calls IAM; offline, no managed policy names are needed."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def main(path: str) -> None:
    template = yaml_parse(Path(path).read_text())
    for res in template.get("Resources", {}).values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://placeholder-bucket/{props[key].strip('/') or 'root'}.zip"
    expanded = transform(template, {}, _NoIamPolicies())
    json.dump(expanded, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
