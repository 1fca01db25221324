"""Spend alerts: thresholds on an org's wallet and on its members' quotas, delivered once.

How an alert moves (docs/CONSOLE.md, "Alerts"):

1. **Rules** (``store.py``): one ``CONFIG`` item per org in the Alerts table - wallet thresholds,
   quota thresholds (each member's quota counter is judged on its own), a webhook URL with its
   signing secret, email addresses. Set by the org's master key (API, console) or the operator
   (CLI).
2. **Crossing** (``evaluate.py``): the release function, after each batch of the Reservations
   stream, reads the wallet and the quota counters those reservations charged and, for every
   threshold reached, puts the event item ``EVENT#<scope>#<period>#<threshold>`` conditionally on
   its absence. The condition is what makes a crossing fire exactly once per threshold and period,
   whichever release function, batch or redelivered record sees it first.
3. **Delivery** (``notify.py``): the Alerts stream's INSERT of an event invokes the notifier,
   which leases the event, POSTs the HMAC-signed webhook (``webhook.py``, through the SSRF guard)
   and sends the email (``email.py``, SES), retries with backoff, and appends every attempt to the
   event's delivery log. What still fails is retried by the notifier's schedule at growing
   intervals until the last, then marked failed.
"""
