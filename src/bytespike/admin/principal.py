"""Who is calling the admin API, and the two rules every admin path applies.

1. Role before target: a role that may never do X gets 403 whatever the target, so the
   answer cannot depend on whether the target exists.
2. Another org's target is 404 whether or not it exists: no response tells one org
   anything about another.
"""

from __future__ import annotations

from dataclasses import dataclass

from bytespike.errors import GatewayError, Kind
from bytespike.store.keys import KeyRecord

OPERATOR, MASTER, MEMBER = "operator", "master", "member"

_DENIED = {
    MEMBER: "This is a member key: it may call models and read its own usage, nothing in the admin API.",
    MASTER: "This needs the operator credential; an org's master key cannot do it.",
}


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    org_id: str | None = None
    key: KeyRecord | None = None

    @staticmethod
    def operator() -> Principal:
        return Principal(OPERATOR)

    @staticmethod
    def of_key(record: KeyRecord) -> Principal:
        return Principal(MASTER if record.kind == "master" else MEMBER, record.org_id, record)

    @property
    def key_id(self) -> str | None:
        return self.key.key_id if self.key else None

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise GatewayError(Kind.PERMISSION, _DENIED.get(self.role, "Not allowed."))

    def org_for(self, requested: str | None) -> str:
        """The org this call acts on: the key's own org, or (operator) the one named."""
        if self.role == OPERATOR:
            if not requested:
                raise GatewayError(Kind.INVALID_REQUEST, "org_id: required for operator calls", param="org_id")
            return requested
        assert self.org_id is not None
        if requested and requested != self.org_id:
            raise org_not_found(requested)
        return self.org_id


def org_not_found(org_id: str) -> GatewayError:
    return GatewayError(Kind.NOT_FOUND, f"No org '{org_id}'.")
