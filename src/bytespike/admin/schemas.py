"""Request bodies and query strings of the admin API, validated by pydantic.

Unknown fields are refused (a typo such as ``quota_perod`` must not silently mint a key
without a quota), money is a strict integer, and a failure names the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bytespike.errors import GatewayError, Kind

ORG_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"
MEMBER_ID = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$"
TOPUP_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
KEY_ID = r"^key_[A-Za-z0-9_]{1,64}$"
MAX_CREDITS = 10**15  # $1bn: a bound that catches a units mistake, not a business rule

Credits = Annotated[int, Field(strict=True, gt=0, le=MAX_CREDITS)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateOrg(_Body):
    """POST /v1/orgs: a wallet and its first master key (shown once)."""

    org_id: str = Field(pattern=ORG_ID)
    name: str = Field(default="", max_length=200)
    credits: Annotated[int, Field(strict=True, ge=0, le=MAX_CREDITS)] = 0
    topup_id: str = Field(default="initial", pattern=TOPUP_ID)


class TopUp(_Body):
    """POST /v1/orgs/{org}/topups: idempotent by ``topup_id``."""

    amount: Credits
    topup_id: str = Field(pattern=TOPUP_ID)


class CreateKey(_Body):
    """POST /v1/keys: a master mints sub-keys; the operator mints masters (or sub-keys under one)."""

    kind: Literal["master", "sub"] = "sub"
    org_id: str | None = Field(default=None, pattern=ORG_ID)
    parent_key_id: str | None = Field(default=None, pattern=KEY_ID)
    member_id: str | None = Field(default=None, pattern=MEMBER_ID)
    label: str = Field(default="", max_length=200)
    quota: Credits | None = None
    quota_period: Literal["day", "month"] | None = None
    models: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(default=None, min_length=1,
                                                                                     max_length=500)
    modalities: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(default=None, min_length=1,
                                                                                        max_length=20)
    expires_at: datetime | None = None
    rpm: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    max_concurrency: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None


class OrgParam(_Body):
    """``?org_id=``: how the operator names the org of a key or usage call."""

    org_id: str = Field(pattern=ORG_ID)


class UsageQuery(_Body):
    """GET /v1/usage and /v1/usage/summary query strings (dates are UTC, inclusive)."""

    org_id: str | None = Field(default=None, pattern=ORG_ID)
    start: date | None = None
    end: date | None = None
    member_id: str | None = Field(default=None, pattern=MEMBER_ID)
    key_id: str | None = Field(default=None, pattern=KEY_ID)
    model: str | None = Field(default=None, max_length=200)
    session_id: str | None = Field(default=None, max_length=128)
    group_by: str | None = Field(default=None, max_length=100)
    format: Literal["json", "csv"] | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)
    cursor: str | None = Field(default=None, max_length=2000)



def first_error(exc: ValidationError) -> tuple[str, str]:
    """(field path, "field: message") of the first validation failure."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "list["))))
    msg = "Field required" if err["type"] == "missing" else err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return loc or "body", f"{loc or 'body'}: {msg}"


def parse[M: BaseModel](model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        param, message = first_error(exc)
        raise GatewayError(Kind.INVALID_REQUEST, message, param=param) from exc
