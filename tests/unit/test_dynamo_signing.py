"""The lean DynamoDB client signs exactly as botocore does (SigV4), so it works on AWS too.

moto accepts any signature, so without this check a signing bug would only show in production.
"""

from __future__ import annotations

import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bytespike.store import dynamo


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN=="])
@pytest.mark.parametrize("op", ["TransactWriteItems", "UpdateItem", "GetItem"])
def test_lean_signature_equals_botocore(monkeypatch: pytest.MonkeyPatch, token: str | None, op: str) -> None:
    lean = object.__new__(dynamo._LeanDynamo)
    lean.region = "eu-west-1"
    lean.host = "dynamodb.eu-west-1.amazonaws.com"
    lean._credentials = dynamo._EnvCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    lean._signing = ("", "", b"")
    body = b'{"TableName":"t","Key":{"pk":{"S":"KEY#abc"}},"ConsistentRead":false}'
    target = f"DynamoDB_20120810.{op}"
    request = AWSRequest(method="POST", url=f"https://{lean.host}/", data=body,
                         headers={"content-type": "application/x-amz-json-1.0", "x-amz-target": target})
    SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), "dynamodb",
              "eu-west-1").add_auth(request)
    # Sign ours at botocore's instant.
    signed_at = time.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(dynamo.time, "gmtime", lambda *a: signed_at)
    ours = lean._headers(target, body)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
    if token:
        assert ours["x-amz-security-token"] == request.headers["X-Amz-Security-Token"]
