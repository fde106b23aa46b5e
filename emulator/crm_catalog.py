"""Deal funnels, their stages and lead statuses, with semantics (P/S/F)."""

from __future__ import annotations

from emulator.errors import InvalidArgument
from emulator.state import Category, PortalState, Stage

DEAL_STAGES: tuple[tuple[str, str, str | None], ...] = (
    ("NEW", "New", None),
    ("PREPARATION", "Preparing documents", None),
    ("PREPAYMENT_INVOICE", "Invoice", None),
    ("EXECUTING", "In progress", None),
    ("FINAL_INVOICE", "Final invoice", None),
    ("WON", "Deal won", "S"),
    ("LOSE", "Deal lost", "F"),
    ("APOLOGY", "Analyze failure", "F"),
)

LEAD_STATUSES: tuple[tuple[str, str, str | None], ...] = (
    ("NEW", "Unassigned", None),
    ("IN_PROCESS", "In progress", None),
    ("PROCESSED", "Processed", None),
    ("CONVERTED", "Good lead", "S"),
    ("JUNK", "Junk lead", "F"),
)


def seed(state: PortalState) -> None:
    """The catalogue of a fresh portal: the default funnel and lead statuses."""
    state.categories[0] = Category(id=0, name="General", sort=0, is_default=True)
    _add_stages(state, "DEAL_STAGE", DEAL_STAGES, category_id=0, prefix="")
    _add_stages(state, "STATUS", LEAD_STATUSES, category_id=None, prefix="")


def _add_stages(
    state: PortalState,
    entity_id: str,
    stages: tuple[tuple[str, str, str | None], ...],
    category_id: int | None,
    prefix: str,
) -> None:
    for index, (code, name, semantics) in enumerate(stages):
        state.stages.append(
            Stage(
                id=state.next_id("stage"),
                entity_id=entity_id,
                status_id=f"{prefix}{code}",
                name=name,
                sort=(index + 1) * 10,
                semantics=semantics,
                category_id=category_id,
            )
        )


def add_category(state: PortalState, name: str, sort: int = 100) -> Category:
    """A new deal funnel with the standard stages prefixed ``C{id}:``."""
    with state.lock:
        category = Category(id=state.next_id("category"), name=name, sort=sort)
        state.categories[category.id] = category
        _add_stages(
            state, f"DEAL_STAGE_{category.id}", DEAL_STAGES, category.id, f"C{category.id}:"
        )
        return category


def deal_stage(state: PortalState, stage_id: str) -> Stage:
    for stage in state.stages:
        if stage.entity_id.startswith("DEAL_STAGE") and stage.status_id == stage_id:
            return stage
    raise InvalidArgument(f"Stage {stage_id!r} not found")


def first_deal_stage(state: PortalState, category_id: int) -> str:
    if category_id not in state.categories:
        raise InvalidArgument(f"Category {category_id} not found")
    prefix = "" if category_id == 0 else f"C{category_id}:"
    return f"{prefix}NEW"


def lead_status(state: PortalState, status_id: str) -> Stage:
    for stage in state.stages:
        if stage.entity_id == "STATUS" and stage.status_id == status_id:
            return stage
    raise InvalidArgument(f"Status {status_id!r} not found")


def semantic_id(semantics: str | None) -> str:
    """``STAGE_SEMANTIC_ID``: P while in progress, S won, F lost."""
    return semantics or "P"
