"""Admin logic: orgs, wallets, keys and usage, as plain functions over the store.

The HTTP handlers (``bytespike.gateway.admin``) and the CLI (``bytespike.cli``) both call
these functions with a :class:`~bytespike.admin.principal.Principal`, so a rule (who may
mint, who may read which usage row) is written once and behaves identically on both.
Everything here is synchronous boto3: the admin function is buffered and low-volume, and
the CLI has no event loop; the HTTP layer runs these calls in a worker thread.
"""

from bytespike.admin.principal import MASTER, MEMBER, OPERATOR, Principal

__all__ = ["MASTER", "MEMBER", "OPERATOR", "Principal"]
