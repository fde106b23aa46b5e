"""Builds the table of every REST method the emulator answers."""

from __future__ import annotations

from emulator import (
    activities_api,
    batch,
    bizproc_api,
    common_api,
    crm_api,
    crm_item_api,
    crm_userfields_api,
    events_api,
    placement_api,
    task_extras_api,
    tasks_api,
    timeline_api,
)
from emulator.registry import MethodRegistry


def build_registry() -> MethodRegistry:
    registry = MethodRegistry()
    for module in (tasks_api, task_extras_api, crm_api, crm_item_api, crm_userfields_api,
                   timeline_api, activities_api, events_api, placement_api, bizproc_api,
                   common_api, batch):
        module.register(registry)
    return registry
