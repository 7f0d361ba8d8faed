"""Throttling inside one JSON batch, as Graph does it (knob ``batch_throttle``, off by default).

Graph evaluates each request of a batch against the throttling limits on its own: the batch answers
``200`` and the throttled requests come back ``429`` inside it, each with a ``Retry-After`` of its
own, the others succeed; the client retries the failed ones, all of them in a new batch after the
longest ``Retry-After`` if it likes (learn.microsoft.com/graph/throttling, "Throttling and
batching"). What callers saw with one mailbox: of 20 requests "4-6 of them (in no particular order)
always fail with a 429", while batches of 9 did not (microsoft-graph-docs#2886); calendar batches
of which only some changes succeed (microsoft-graph-docs-contrib#5028, microsoft-graph-docs#8760);
``Retry-After`` inside batch items in decimal seconds, "0.249, 0.124" (microsoft-graph-docs#3877).

:func:`throttled_items` chooses the items. For each mailbox with at least
``batch_throttle_min_items`` (10) items in a batch without ``dependsOn`` (a batch with ``dependsOn``
runs its items one at a time, inside the mailbox's concurrency: the throttling-limits page,
"Outlook service batching"), ``k`` of its ``n`` items are throttled, ``k`` uniform between
``ceil(n × share_min)`` and ``floor(n × share_max)`` (4 to 6 of 20 by default), at random positions,
each with a ``Retry-After`` uniform between the two ``batch_throttle_retry_after_*_s`` knobs (three
decimals). A throttled item is answered ``429 ApplicationThrottled`` "Application is over its
MailboxConcurrency limit." after authentication and authorisation, and is not executed.

With ``batch_throttle_seed`` set, the choice depends only on the seed, how many batches have
addressed the mailbox before (since the last reset) and how many of its items the batch holds --
not on the mailbox's generated id nor on other mailboxes: a test sees the same item positions
throttled on every run.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from typing import Any

from .errors import GraphError
from .state import EmulatorState

__all__ = ["throttled_items"]

_MAILBOX = re.compile(r"users/([^/?]+)", re.IGNORECASE)


def throttled_items(
    state: EmulatorState,
    requests: list[dict[str, Any]],
    tenant_id: str,
    path_of: Callable[[str], str],
    rng: random.Random,
) -> dict[str, float]:
    """The ids of the batch items to answer 429, each with its ``Retry-After`` in seconds."""
    k = state.knobs
    if not k.batch_throttle or any(item.get("dependsOn") for item in requests):
        return {}
    by_mailbox: dict[str, list[str]] = {}
    for item in requests:
        try:
            match = _MAILBOX.match(path_of(item["url"]))
        except GraphError:  # a malformed URL is answered as such when the item runs
            match = None
        if match is None:
            continue
        ref = match.group(1)
        user = state.find_user(ref, tenant_id)
        by_mailbox.setdefault(user.id if user is not None else ref.lower(), []).append(item["id"])
    chosen: dict[str, float] = {}
    for mailbox, ids in by_mailbox.items():
        seen = state.batches_seen.get(mailbox, 0)
        state.batches_seen[mailbox] = seen + 1
        n = len(ids)
        if n < max(1, k.batch_throttle_min_items):
            continue
        pick = rng if k.batch_throttle_seed is None else random.Random(f"{k.batch_throttle_seed}/{seen}/{n}")
        low = min(n, math.ceil(n * k.batch_throttle_share_min))
        high = max(low, min(n, math.floor(n * k.batch_throttle_share_max)))
        for rid in pick.sample(ids, pick.randint(low, high)):
            wait = pick.uniform(k.batch_throttle_retry_after_min_s, k.batch_throttle_retry_after_max_s)
            chosen[rid] = round(max(0.001, wait), 3)
    return chosen
