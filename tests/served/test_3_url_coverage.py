"""Every URL pattern of the product was visited by the served walks (issue 13).

Runs after the walks of this package (file order) and reads the paths they made the server
answer: through Chromium (every response the pages received, htmx requests and downloads
included), through the suite's HTTP client (push API, webhooks, health), and the webhook
deliveries the JUST.SFA emulator made. A new screen or API without a served test fails here.
"""

from __future__ import annotations

import pytest

from tests.served.routes import route_of, url_patterns
from tests.served.walker import Visits

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_every_url_pattern_was_visited_by_a_served_test(visits: Visits) -> None:
    if not visits.seen:
        pytest.skip("no served walk ran in this session (run the whole tests/served package)")
    visited = {route for route in map(route_of, visits.paths()) if route is not None}
    missing = sorted(url_patterns() - visited)
    assert not missing, (
        f"no served test visited {missing} (run the whole tests/served package; visited: {sorted(visited)})"
    )
