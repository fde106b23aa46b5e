"""How fast are status decisions? Goal: 100,000 observations in under 1 s of CPU.

Generates seeded observations (a current CRM status and one to four observed changes
in the fixed order, with actors, the bound items' managers and a deadline), then
times ``decide_observation`` over all of them with ``time.process_time``. A baseline
loop over the same data without deciding runs in the same run.

    python bench/decide_bench.py [--observations N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mappers.changes import CHANGE_ORDER, Change, ChangeKind
from mappers.decisions import decide_observation
from mappers.statuses import CrmTaskStatus

GOAL_CPU_SECONDS = 1.0
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Observation:
    current: CrmTaskStatus | None
    changes: tuple[Change, ...]
    item_responsibles: frozenset[int]
    deadline: datetime | None


def _change(rng: random.Random, kind: ChangeKind, actor: int) -> Change:
    if kind is ChangeKind.REAL_STATUS:
        status = rng.choice((2, 2, 3, 3, 4, 5, 6))
        return Change(kind, actor, f"real_status:{status}", real_status=status)
    if kind is ChangeKind.FIRST_SEEN:
        return Change(kind, actor, "first_seen", self_assigned=rng.random() < 0.2)
    if kind is ChangeKind.FIELDS:
        return Change(kind, actor, "fields:description", fields=("description",))
    return Change(kind, None if kind is ChangeKind.OVERDUE else actor, kind.value)


def generate(count: int, seed: int) -> list[Observation]:
    """Seeded observations shaped like a busy portal's."""
    rng = random.Random(seed)
    statuses = [None, *CrmTaskStatus]
    later_kinds = CHANGE_ORDER[1:]
    deadlines = [None, NOW - timedelta(days=1), NOW + timedelta(days=2)]
    observations = []
    for _ in range(count):
        current = rng.choice(statuses)
        actor = rng.randint(1, 8)
        if current is None:
            kinds = [ChangeKind.FIRST_SEEN]
        else:
            picked = set(rng.sample(later_kinds, rng.randint(1, 3)))
            kinds = [kind for kind in later_kinds if kind in picked]
        changes = tuple(_change(rng, kind, actor) for kind in kinds)
        managers = frozenset(rng.sample(range(1, 9), rng.randint(1, 2)))
        observations.append(Observation(current, changes, managers, rng.choice(deadlines)))
    return observations


def run_baseline(observations: list[Observation]) -> int:
    seen = 0
    for obs in observations:
        seen += len(obs.changes)
    return seen


def run_decisions(observations: list[Observation]) -> int:
    applied = 0
    for obs in observations:
        for decision in decide_observation(
            obs.current,
            obs.changes,
            item_responsibles=obs.item_responsibles,
            deadline=obs.deadline,
            now=NOW,
        ):
            applied += decision.status is not None
    return applied


def timed(function, observations: list[Observation]) -> tuple[float, int]:
    started = time.process_time()
    result = function(observations)
    return time.process_time() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)

    observations = generate(args.observations, args.seed)
    changes = sum(len(obs.changes) for obs in observations)
    baseline_seconds, _ = timed(run_baseline, observations)
    cpu_seconds, applied = timed(run_decisions, observations)
    per_second = args.observations / cpu_seconds if cpu_seconds else float("inf")
    ok = cpu_seconds < GOAL_CPU_SECONDS

    rows = [
        ("observations", f"{args.observations:,}"),
        ("changes decided", f"{changes:,}"),
        ("status changes applied", f"{applied:,}"),
        ("baseline loop, CPU s", f"{baseline_seconds:.3f}"),
        ("deciding, CPU s", f"{cpu_seconds:.3f}"),
        ("observations per second", f"{per_second:,.0f}"),
        (f"goal: < {GOAL_CPU_SECONDS:.1f} s CPU", "ok" if ok else "MISSED"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>12}")
    if args.json:
        print(
            json.dumps(
                {
                    "observations": args.observations,
                    "changes": changes,
                    "applied": applied,
                    "baseline_cpu_seconds": round(baseline_seconds, 4),
                    "cpu_seconds": round(cpu_seconds, 4),
                    "per_second": round(per_second),
                    "ok": ok,
                }
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
