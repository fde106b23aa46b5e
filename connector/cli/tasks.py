"""`taskbridge task create|token`: create a task bound to a deal or lead; show a portal's
bearer token for `POST /bitrix/tasks`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import click

from connector.cli import common
from connector.errors import SettingsError
from connector.portals.automation_token import automation_token
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.storage.engines import Storage
from connector.storage.portals import Portal
from connector.sync.fetch import portal_facts
from connector.sync.task_creation import (
    InvalidNewTask,
    ItemUnavailable,
    NewTask,
    TaskNotCreated,
    TaskPartlyCreated,
    create_and_show,
    parse_deadline,
)
from mappers.bindings import DEAL, LEAD, CrmRef

OPTIONS = {"item": "--deal/--lead", "title": "--title", "responsible_id": "--responsible",
           "created_by": "--created-by", "deadline": "--deadline",
           "description": "--description", "checklist": "--checklist"}


class TaskCommandError(click.ClickException):
    """A `task` command's option or target is wrong, or the portal refused; one line."""


@click.group()
def task() -> None:
    """Create tasks bound to deals and leads; tokens for automations."""


portal_option = click.option("--portal", "member_id", required=True, metavar="MEMBER_ID",
                             help="The portal's member_id (see `taskbridge portals`).")


@task.command("token")
@portal_option
def task_token(member_id: str) -> None:
    """Print the bearer token the portal's automations send to POST /bitrix/tasks."""
    _installed(common.storage(), member_id)
    try:
        click.echo(automation_token(common.settings(), member_id))
    except SettingsError as exc:
        raise TaskCommandError(str(exc)) from exc


@task.command("create")
@portal_option
@click.option("--deal", type=click.IntRange(min=1), metavar="ID", help="Bind to this deal.")
@click.option("--lead", type=click.IntRange(min=1), metavar="ID", help="Bind to this lead.")
@click.option("--title", required=True, help="The task's title.")
@click.option("--responsible", type=click.IntRange(min=1), required=True, metavar="USER_ID",
              help="The responsible user.")
@click.option("--created-by", type=click.IntRange(min=1), metavar="USER_ID",
              help="The creator [default: the user TaskBridge acts as].")
@click.option("--deadline", metavar="ISO", help="ISO 8601, e.g. 2030-05-04T17:00+02:00.")
@click.option("--description", default="", help="The task's description.")
@click.option("--checklist", multiple=True, metavar="ITEM",
              help="A checklist item; repeat for more.")
@click.option("--check-on-completion", is_flag=True, help="The creator checks the task when "
                                                            "it is completed.")
@click.option("--result-required", is_flag=True, help="A result is required to complete it.")
def task_create(member_id: str, deal: int | None, lead: int | None, title: str,
                responsible: int, created_by: int | None, deadline: str | None,
                description: str, checklist: tuple[str, ...], check_on_completion: bool,
                result_required: bool) -> None:
    """Create a task bound to a deal or lead, tagged CRM, announced on its timeline, and
    shown in its status at once; prints the new task's ID."""
    if (deal is None) == (lead is None):
        raise TaskCommandError("--deal/--lead: give exactly one of them")
    item = CrmRef(DEAL, deal) if deal is not None else CrmRef(LEAD, lead or 0)
    storage = common.storage()
    portal = _installed(storage, member_id)
    # Checked before any request; the default creator is learnt from the portal after.
    new_task = _new_task(item, title, responsible, description, _deadline(deadline), checklist,
                         check_on_completion, result_required, created_by or responsible)
    client = PortalClient.for_portal(storage, common.settings(), member_id)
    try:
        if created_by is None:
            new_task = replace(new_task,
                               created_by=portal_facts(client, member_id).acting_user_id)
        task_id = create_and_show(storage.engine, client, portal, new_task)
    except ItemUnavailable as exc:
        option = "--deal" if deal is not None else "--lead"
        raise TaskCommandError(f"{option}: {exc.description or exc}") from exc
    except TaskPartlyCreated as exc:
        raise TaskCommandError(str(exc.description or exc)) from exc
    except (TaskNotCreated, BitrixError) as exc:
        raise TaskCommandError(f"the portal refused: {exc.description or exc}") from exc
    finally:
        client.close()
    click.echo(task_id)


def _new_task(item: CrmRef, title: str, responsible: int, description: str,
              deadline: datetime | None, checklist: tuple[str, ...], task_control: bool,
              result_required: bool, created_by: int) -> NewTask:
    try:
        return NewTask(item=item, title=title.strip(), responsible_id=responsible,
                       created_by=created_by, description=description, deadline=deadline,
                       task_control=task_control, result_required=result_required,
                       checklist=tuple(entry.strip() for entry in checklist))
    except InvalidNewTask as exc:
        raise TaskCommandError(f"{OPTIONS.get(exc.field, exc.field)}: {exc.message}") from exc


def _deadline(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_deadline(text)
    except InvalidNewTask as exc:
        raise TaskCommandError(f"--deadline: {exc.message}") from exc


def _installed(storage: Storage, member_id: str) -> Portal:
    portal = storage.portals.find(member_id)
    if portal is None:
        raise TaskCommandError(f"--portal: no portal with member_id {member_id!r}")
    if portal.state != "installed":
        raise TaskCommandError(f"--portal: TaskBridge is not installed on {member_id!r} "
                               f"({portal.state})")
    return portal


def register(cli: click.Group) -> None:
    cli.add_command(task)
