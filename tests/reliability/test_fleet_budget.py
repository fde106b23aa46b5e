"""Two worker processes on one PostgreSQL share each portal's REST budget: driven far
past a small bucket from both at once, no portal answers 503 and none sees more
requests in any window than its bucket lets through."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fleet import fleet, workload
from bench.fleet_budget import budget_check, budget_ok

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # ~30 s: gunicorn, two workers


def test_two_workers_keep_a_small_portal_bucket_between_them(
    pg_server_url: str, tmp_path: Path
) -> None:
    with fleet(pg_server_url, tmp_path, portals_count=2, webs=1) as running:
        result = budget_check(running, portals=2, units=10, burst=5, drain=4.0,
                              workload=workload)
    assert result["portal_503s"] == 0, result
    assert result["most_over_the_bucket"] <= 0, result
    # The check means something only if both workers called each portal, far past its burst.
    assert result["portals_held_by_two_at_once"] == 2, result
    assert min(result["requests_per_portal"]) >= 3 * 5, result
    assert budget_ok(result)
