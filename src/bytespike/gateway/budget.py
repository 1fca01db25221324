"""What this process believes each org's wallet holds: whether a hold may overlap the upstream call.

The hold and the upstream request normally start together (the hold adds nothing to time to
first token), and a failed hold cancels the request. But an overlapped request has already
reached the provider when its hold fails: a broke wallet, overlapped, still sends every
request upstream (issue 14: 50 concurrent requests on an empty wallet, all 402, all 50 upstream).

So a request overlaps only when the org's last known balance covers its hold. The balance is
learned from the store - a refused hold returns the wallet as it was (``ALL_OLD``), and a
wallet read runs beside the first upstream call of an org this process has not seen (or has
not seen for ``FRESH_SECONDS``) - and is kept per process, adjusted by this process's own
holds and settles. Unknown or short means hold first: one DynamoDB round trip before the
upstream call, never a request the wallet cannot pay for. The view is only a heuristic;
the hold transaction stays the one authority on money.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bytespike.background import Refreshes

log = logging.getLogger("bytespike.budget")

FRESH_SECONDS = 30.0  # a learned balance is trusted this long (other processes spend and top up meanwhile)
MIN_RELEARN_SECONDS = 1.0  # at most one wallet read per org per second per process


@dataclass(slots=True)
class _View:
    balance: int  # as learned, then adjusted by this process's holds and settles
    learned_at: float  # monotonic


_VIEWS: dict[str, _View] = {}
_LEARNING = Refreshes("wallet")
_LAST_READ: dict[str, float] = {}


def claim(org_id: str, amount: int) -> bool:
    """True when the org's known balance, fresh enough, pays for ``amount``; the amount is then
    counted as spent at once, so a burst of requests cannot all overlap on the same credits."""
    view = _VIEWS.get(org_id)
    if view is None or time.monotonic() - view.learned_at >= FRESH_SECONDS or view.balance < amount:
        return False
    view.balance -= amount
    return True


def give_back(org_id: str, amount: int) -> None:
    """Credits counted as spent come back: a claimed hold that failed, or a settle's ``hold - cost``
    (which the release will refund)."""
    view = _VIEWS.get(org_id)
    if view is not None:
        view.balance += amount


def held(org_id: str, amount: int, *, claimed: bool) -> None:
    """A hold of ``amount`` committed (already counted if ``claimed``). Learns the balance when unknown."""
    view = _VIEWS.get(org_id)
    wrong = False
    if view is not None and not claimed:
        wrong = view.balance < amount  # the wallet paid what the view said it could not: a top-up elsewhere
        view.balance -= amount
    if view is None or wrong or time.monotonic() - view.learned_at >= FRESH_SECONDS / 2:
        learn(org_id)


def refused(org_id: str, balance: int | None) -> None:
    """A hold was refused for lack of credit; ``balance`` is the wallet as the refusal saw it."""
    if balance is None:
        learn(org_id)
        return
    _VIEWS[org_id] = _View(balance, time.monotonic())


def learn(org_id: str) -> None:
    """Read the wallet in the background (off the request path), at most once a second per org."""
    now = time.monotonic()
    if _LEARNING.running(org_id) or now - _LAST_READ.get(org_id, -MIN_RELEARN_SECONDS) < MIN_RELEARN_SECONDS:
        return
    _LAST_READ[org_id] = now
    _LEARNING.start(org_id, lambda: _read(org_id))


async def _read(org_id: str) -> None:
    from bytespike.store import ledger

    try:
        balance = await ledger.read_balance(org_id)
        if balance is not None:
            _VIEWS[org_id] = _View(balance, time.monotonic())
    except Exception as exc:  # a failed read only means the next requests hold first
        log.warning("wallet read for %s failed: %s", org_id, exc)


def forget() -> None:
    """Drop every view (tests; a restored Lambda snapshot must not trust another sandbox's)."""
    _VIEWS.clear()
    _LAST_READ.clear()
    _LEARNING.cancel_all()
