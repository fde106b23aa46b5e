"""How fast are the rules? Goal: 100,000 observations in under 1 s of CPU.

Two timings, each with ``time.process_time`` over seeded data built before the clock
starts:

- **deciding**: ``decide_observation`` on ready-made changes (a current CRM status and
  one to four observed changes in the fixed order, with actors, the bound items'
  managers and a deadline);
- **whole rule path**: from pairs of task snapshots (the one stored and the one fetched)
  to the writes, as the worker runs it: ``what_changed`` (with the overdue check),
  ``decide_observation``, ``final_status`` and ``plan_writes`` (the ``CRM`` tag, one
  timeline entry per bound item and applied change, the deal's status field).

A baseline loop over the same data without any rule runs in the same run. ``ok`` holds
when both timings are under the goal.

    python bench/decide_bench.py [--observations N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mappers.bindings import CrmRef
from mappers.changes import CHANGE_ORDER, Change, ChangeKind, what_changed
from mappers.decisions import decide_observation, final_status
from mappers.snapshots import TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import plan_writes

GOAL_CPU_SECONDS = 1.0
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MANAGERS = range(1, 9)


@dataclass(frozen=True, slots=True)
class Observation:
    current: CrmTaskStatus | None
    changes: tuple[Change, ...]
    item_responsibles: frozenset[int]
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class SnapshotPair:
    """A task as TaskBridge stored it (or never saw it) and as it was fetched now."""

    status: CrmTaskStatus | None
    previous: TaskSnapshot | None
    current: TaskSnapshot
    actor: int
    item_responsibles: frozenset[int]
    language: str


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
        managers = frozenset(rng.sample(MANAGERS, rng.randint(1, 2)))
        observations.append(Observation(current, changes, managers, rng.choice(deadlines)))
    return observations


# What happened to the task between the two looks: (weight, fields the fetched task has).
_EDITS: tuple[tuple[int, dict[str, Any]], ...] = (
    (10, {"real_status": 3}),  # started
    (6, {"real_status": 2}),  # paused, renewed or returned
    (5, {"real_status": 4}),  # completed, waiting for review
    (5, {"real_status": 5}),  # completed
    (3, {"real_status": 2, "responsible_id": 7, "auditors": (2,)}),  # delegated
    (10, {"deadline": NOW + timedelta(days=3)}),
    (10, {"description": "new terms"}),
    (6, {"checklist_digest": "b" * 32}),
    (6, {"result_count": 1}),
    (4, {"tags": ()}),  # someone removed the CRM tag
    (5, {"real_status": 3, "deadline": NOW + timedelta(days=3)}),
    (10, {}),  # nothing visible changed (an overdue sweep, a comment)
)


def _stored_status(
    rng: random.Random, previous: TaskSnapshot, managers: frozenset[int]
) -> CrmTaskStatus | None:
    """The status TaskBridge keeps with the stored snapshot: any of the ten, as the
    task's history left it, and already through the overdue check of that snapshot
    (the sweep and every earlier event made an overdue task EXPIRED where the table
    lets it)."""
    status = rng.choice(list(CrmTaskStatus))
    seen = what_changed(previous, previous, actor_id=None, now=NOW)
    decisions = decide_observation(
        status, seen, item_responsibles=managers, deadline=previous.deadline, now=NOW
    )
    return final_status(status, decisions)


def generate_pairs(count: int, seed: int) -> list[SnapshotPair]:
    """Seeded snapshot pairs: one task in ten is new, the others changed in one way."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in _EDITS]
    pairs = []
    for number in range(count):
        # Every task has dates of its own (a second apart), as on a portal.
        jitter = timedelta(seconds=number)
        deadline = rng.choice([None, NOW - timedelta(days=1), NOW + timedelta(days=2)])
        base: dict[str, Any] = {
            "id": number + 1, "title": f"Task {number + 1}", "real_status": rng.choice((2, 3)),
            "created_by": 1, "responsible_id": rng.choice((1, 2)),
            "crm_bindings": ((CrmRef(2, 12), CrmRef(3, 4)) if rng.random() < 0.3
                             else (CrmRef(2, 12),)),
            "tags": ("CRM",), "checklist_digest": "a" * 32, "result_count": 0,
            "deadline": None if deadline is None else deadline - jitter,
            "changed_date": NOW - timedelta(hours=2) - jitter,
            "status_changed_date": NOW - timedelta(hours=2) - jitter,
        }  # fmt: skip
        # As the worker has it: the stored snapshot read back from its JSON, the fetched
        # one built apart, so no value is shared between the two.
        previous = TaskSnapshot.model_validate(TaskSnapshot(**base).model_dump(mode="json"))
        [(_, edit)] = rng.choices(_EDITS, weights=weights)
        later = {**base, **edit, "changed_date": NOW - timedelta(minutes=5) - jitter}
        if "real_status" in edit:
            later["status_changed_date"] = later["changed_date"]
        managers = frozenset(rng.sample(MANAGERS, rng.randint(1, 2)))
        first_seen = rng.random() < 0.1
        pairs.append(
            SnapshotPair(
                status=None if first_seen else _stored_status(rng, previous, managers),
                previous=None if first_seen else previous,
                current=TaskSnapshot(**later),
                actor=rng.choice((1, 2, 3, 7)),
                item_responsibles=managers,
                language=rng.choice(("en", "it")),
            )
        )
    return pairs


def run_baseline(observations: Sequence[Any]) -> int:
    seen = 0
    for _ in observations:
        seen += 1
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


def run_rule_path(pairs: list[SnapshotPair]) -> int:
    """Snapshot pair → changes → decisions → status → writes, for every pair."""
    writes = 0
    for pair in pairs:
        current = pair.current
        changes = what_changed(pair.previous, current, actor_id=pair.actor, now=NOW)
        decisions = decide_observation(
            pair.status,
            changes,
            item_responsibles=pair.item_responsibles,
            deadline=current.deadline,
            now=NOW,
        )
        status = final_status(pair.status, decisions)
        # What each bound item shows: here the task's own status (one task per item);
        # plan_writes writes it to the deals and leads among them.
        shown = dict.fromkeys(current.crm_bindings, status)
        plan = plan_writes(current, decisions, item_statuses=shown, language=pair.language)
        writes += len(plan.writes)
    return writes


def timed(function: Callable[[Any], int], data: Sequence[Any]) -> tuple[float, int]:
    started = time.process_time()
    result = function(data)
    return time.process_time() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)

    observations = generate(args.observations, args.seed)
    pairs = generate_pairs(args.observations, args.seed)
    changes = sum(len(obs.changes) for obs in observations)
    baseline_seconds, _ = timed(run_baseline, observations)
    decide_seconds, applied = timed(run_decisions, observations)
    path_baseline_seconds, _ = timed(run_baseline, pairs)
    path_seconds, writes = timed(run_rule_path, pairs)
    ok = decide_seconds < GOAL_CPU_SECONDS and path_seconds < GOAL_CPU_SECONDS

    def per_second(seconds: float) -> float:
        return args.observations / seconds if seconds else float("inf")

    rows = [
        ("observations", f"{args.observations:,}"),
        ("changes decided (deciding)", f"{changes:,}"),
        ("status changes applied (deciding)", f"{applied:,}"),
        ("writes planned (whole path)", f"{writes:,}"),
        ("baseline loop, CPU s", f"{baseline_seconds:.3f}"),
        ("deciding, CPU s", f"{decide_seconds:.3f}"),
        ("whole rule path, CPU s", f"{path_seconds:.3f}"),
        ("whole path, observations per second", f"{per_second(path_seconds):,.0f}"),
        (f"goal: both < {GOAL_CPU_SECONDS:.1f} s CPU", "ok" if ok else "MISSED"),
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
                    "writes": writes,
                    "baseline_cpu_seconds": round(baseline_seconds, 4),
                    "path_baseline_cpu_seconds": round(path_baseline_seconds, 4),
                    "cpu_seconds": round(decide_seconds, 4),
                    "decide_cpu_seconds": round(decide_seconds, 4),
                    "path_cpu_seconds": round(path_seconds, 4),
                    "per_second": round(per_second(decide_seconds)),
                    "path_per_second": round(per_second(path_seconds)),
                    "goal_cpu_seconds": GOAL_CPU_SECONDS,
                    "ok": ok,
                }
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
