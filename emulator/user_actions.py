"""What a person does in the portal's UI, for tests: ``portal.as_user(7).start_task(12)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import task_card, task_fields
from emulator.context import Change
from emulator.delivery import Delivery

if TYPE_CHECKING:
    from emulator.portal import Portal


class UserActions:
    """Acts as one user; every change fires the events a real portal would."""

    def __init__(self, portal: Portal, user_id: int) -> None:
        self.portal = portal
        self.user_id = user_id
        self.change = Change(user_id)

    # CRM --------------------------------------------------------------------
    def create_deal(self, title: str = "", *, category_id: int = 0, stage_id: str | None = None,
                    assigned_by: int | None = None, **fields: Any) -> int:
        data = {"TITLE": title, "CATEGORY_ID": category_id,
                "ASSIGNED_BY_ID": assigned_by or self.user_id, **fields}
        if stage_id:
            data["STAGE_ID"] = stage_id
        return self.portal.crm.add_deal(self.change, data).id

    def update_deal(self, deal_id: int, **fields: Any) -> None:
        self.portal.crm.update_deal(self.change, deal_id, fields)

    def move_deal(self, deal_id: int, stage_id: str) -> None:
        self.portal.crm.update_deal(self.change, deal_id, {"STAGE_ID": stage_id})

    def move_deal_to_category(self, deal_id: int, category_id: int) -> None:
        self.portal.crm.update_deal(self.change, deal_id, {"CATEGORY_ID": category_id})

    def delete_deal(self, deal_id: int) -> None:
        self.portal.crm.delete_deal(self.change, deal_id)

    def create_lead(self, title: str = "", *, status_id: str = "NEW",
                    assigned_by: int | None = None, **fields: Any) -> int:
        data = {"TITLE": title, "STATUS_ID": status_id,
                "ASSIGNED_BY_ID": assigned_by or self.user_id, **fields}
        return self.portal.crm.add_lead(self.change, data).id

    def update_lead(self, lead_id: int, **fields: Any) -> None:
        self.portal.crm.update_lead(self.change, lead_id, fields)

    def move_lead(self, lead_id: int, status_id: str) -> None:
        self.portal.crm.update_lead(self.change, lead_id, {"STATUS_ID": status_id})

    def convert_lead(self, lead_id: int) -> None:
        """Conversion as REST sees it: the lead reaches ``CONVERTED``."""
        self.move_lead(lead_id, "CONVERTED")

    def junk_lead(self, lead_id: int) -> None:
        self.move_lead(lead_id, "JUNK")

    def create_contact(self, name: str = "", last_name: str = "", *,
                       assigned_by: int | None = None) -> int:
        fields = {"name": name, "lastName": last_name, "assignedById": assigned_by}
        return self.portal.crm_items.add(self.change, 3, fields).id

    def create_company(self, title: str = "", *, assigned_by: int | None = None) -> int:
        fields = {"title": title, "assignedById": assigned_by}
        return self.portal.crm_items.add(self.change, 4, fields).id

    def create_smart_item(self, entity_type_id: int, title: str = "", *,
                          assigned_by: int | None = None) -> int:
        """An item of a smart process made with ``portal.add_smart_process``."""
        fields = {"title": title, "assignedById": assigned_by}
        return self.portal.crm_items.add(self.change, entity_type_id, fields).id

    def update_crm_item(self, entity_type_id: int, item_id: int, **fields: Any) -> None:
        """A contact, company or smart-process item, by crm.item names (``assignedById``)."""
        self.portal.crm_items.update(self.change, entity_type_id, item_id, fields)

    # tasks ------------------------------------------------------------------
    def create_task(self, crm: str | list[str] | None = None, *, title: str = "Task",
                    responsible: int | None = None, description: str = "",
                    deadline: Any = None, task_control: bool = False,
                    result_required: bool = False, tags: list[str] | None = None,
                    accomplices: list[int] | None = None, auditors: list[int] | None = None,
                    ) -> int:
        """A task created in the UI; ``crm`` binds it (``"D_12"``, ``["L_3"]``)."""
        raw: dict[str, Any] = {
            "TITLE": title, "DESCRIPTION": description,
            "RESPONSIBLE_ID": responsible or self.user_id,
            "TASK_CONTROL": "Y" if task_control else "N",
            "ACCOMPLICES": accomplices or [], "AUDITORS": auditors or [],
            "TAGS": tags or [], "DEADLINE": deadline,
            "UF_CRM_TASK": [crm] if isinstance(crm, str) else (crm or []),
        }
        if result_required:
            raw["SE_PARAMETER"] = [{"VALUE": "Y", "CODE": 3}]
        return self.portal.tasks.add(self.change, task_fields.parse_fields(raw)).id

    def update_task(self, task_id: int, **fields: Any) -> None:
        """Edit fields by their REST names: ``update_task(5, DEADLINE="2030-01-01")``."""
        self.portal.tasks.update(self.change, task_id, task_fields.parse_fields(fields))

    def open_task(self, task_id: int) -> None:
        """Open the task card: a view for this user, no event."""
        self.portal.tasks.view(self.user_id, task_id)

    open = open_task

    def open_task_tab(self, task_id: int, client_id: str | None = None) -> Delivery:
        """Classic card: click the app's ``TASK_VIEW_TAB`` tab (a view and the placement
        POST, made before this returns). The new card has no tabs (``ValueError``)."""
        return task_card.open_widget(self.portal, self.user_id, task_id, "tab", client_id)

    def open_app_block(self, task_id: int, client_id: str | None = None) -> Delivery:
        """New card: click the app's row in the "Applications" block (a view and the
        placement POST). The classic card has no such block (``ValueError``)."""
        return task_card.open_widget(self.portal, self.user_id, task_id, "app_block",
                                     client_id)

    def start_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "start")

    def pause_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "pause")

    def complete_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "complete")

    def approve_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "approve")

    def disapprove_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "disapprove")

    def renew_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "renew")

    def defer_task(self, task_id: int) -> None:
        self.portal.tasks.act(self.change, task_id, "defer")

    def delegate_task(self, task_id: int, to_user: int) -> None:
        self.portal.tasks.act(self.change, task_id, "delegate", user_id=to_user)

    start, pause, complete, approve = start_task, pause_task, complete_task, approve_task
    disapprove, renew, defer, delegate = disapprove_task, renew_task, defer_task, delegate_task

    def delete_task(self, task_id: int) -> None:
        self.portal.tasks.delete(self.change, task_id)

    def add_comment(self, task_id: int, text: str) -> int:
        """The comment's id; in the new task card, its chat message's id."""
        comment = self.portal.tasks.add_comment(self.change, task_id, text)
        return task_card.visible_id(self.portal, comment)

    def add_result(self, task_id: int, text: str) -> int:
        """A comment marked as the task's result: fires ONTASKCOMMENTADD only."""
        comment = self.portal.tasks.add_comment(self.change, task_id, text, is_result=True)
        return task_card.visible_id(self.portal, comment)

    def add_checklist_item(self, task_id: int, title: str, done: bool = False) -> int:
        return self.portal.tasks.add_checklist_item(self.change, task_id, title, done).id

    def tick_checklist_item(self, item_id: int, done: bool = True) -> None:
        """Tick inline in the card: no event."""
        self.portal.tasks.tick_checklist_item(self.change, item_id, done)
