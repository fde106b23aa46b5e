"""Creating a task from a CRM card ("prepare the contract" for a deal).

The task is bound to the item (`UF_CRM_TASK`), tagged `CRM`, created in the name of the
user who filled the form, and announced on the item's timeline, all in one batch: one
request against the portal's budget. Its CRM status then comes from the ONTASKADD
event like any other task's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.install_flow import AUTH_CONNECTOR
from connector.rest_client import PortalClient
from connector.rest_errors import BitrixError
from connector.write_back import entity_type
from mappers.bindings import CrmRef
from mappers.snapshots import TASKBRIDGE_TAG


@dataclass(frozen=True)
class NewTask:
    item: CrmRef
    title: str
    responsible_id: int
    created_by: int
    description: str = ""
    deadline: datetime | None = None
    task_control: bool = False
    result_required: bool = False


class TaskNotCreated(BitrixError):
    """The portal refused the new task; `description` says why."""


def create_from_card(client: PortalClient, task: NewTask) -> int:
    """Create the task and its timeline note; returns the new task's ID."""
    fields: dict[str, object] = {
        "TITLE": task.title,
        "DESCRIPTION": task.description,
        "RESPONSIBLE_ID": task.responsible_id,
        "CREATED_BY": task.created_by,
        "UF_CRM_TASK": [task.item.code],
        "TAGS": [TASKBRIDGE_TAG],
        "TASK_CONTROL": "Y" if task.task_control else "N",
    }
    if task.deadline is not None:
        fields["DEADLINE"] = task.deadline.isoformat()
    if task.result_required:
        fields["SE_PARAMETER"] = [{"VALUE": "Y", "CODE": 3}]
    note = (f"Task «{task.title}» created from the card for user {task.responsible_id} "
            "(task $result[task][task][id]) · TaskBridge")
    outcome = client.batch(
        {
            "task": ("tasks.task.add", {"fields": fields, "auth_connector": AUTH_CONNECTOR}),
            "note": ("crm.timeline.comment.add",
                     {"fields": {"ENTITY_ID": task.item.id, "ENTITY_TYPE": entity_type(task.item),
                                 "COMMENT": note}, "auth_connector": AUTH_CONNECTOR}),
        },
        halt=True,
    )
    if "task" in outcome.errors:
        error = outcome.errors["task"]
        raise TaskNotCreated(error.description or str(error), method="tasks.task.add",
                             code=error.code)
    created = outcome.results.get("task") or {}
    task_id = (created.get("task") or {}).get("id") if isinstance(created, dict) else None
    if not str(task_id or "").isdigit():
        raise TaskNotCreated("tasks.task.add answered without a task id", method="tasks.task.add")
    return int(task_id)
