"""The words of TaskBridge's card tabs in English and Italian; unknown keys fall back to English.

The status labels themselves come from `mappers.statuses.label`.
"""

from __future__ import annotations

from collections.abc import Callable

from mappers.statuses import language_code

EN = {
    "status_on_card": "Status on the card",
    "task": "Task",
    "status": "Status",
    "changed": "Changed",
    "no_tasks": "No tasks yet.",
    "new_task": "New task",
    "title": "Title",
    "responsible": "Responsible",
    "me": "me",
    "deadline": "Deadline",
    "description": "Description",
    "checklist": "Checklist",
    "checklist_hint": "one item per line",
    "task_control": "Check the task on completion",
    "result_required": "Result required",
    "create": "Create task",
    "created": "Task {task_id} «{title}» was created and bound to {item}.",
    "view_recorded": "Your view of task {task_id} was recorded.",
    "not_bound": "not bound to a CRM item, or not seen yet",
    "default_title_deal": "Prepare the contract",
    "default_title_lead": "Call back",
    "task_not_visible": "This task is not visible to you, or it does not exist.",
    "item_not_visible": "This item is not visible to you, or it does not exist.",
}

IT = {
    "status_on_card": "Stato sulla scheda",
    "task": "Attività",
    "status": "Stato",
    "changed": "Modificato",
    "no_tasks": "Ancora nessuna attività.",
    "new_task": "Nuova attività",
    "title": "Titolo",
    "responsible": "Responsabile",
    "me": "io",
    "deadline": "Scadenza",
    "description": "Descrizione",
    "checklist": "Checklist",
    "checklist_hint": "una voce per riga",
    "task_control": "Verifica l'attività al completamento",
    "result_required": "Risultato obbligatorio",
    "create": "Crea attività",
    "created": "L'attività {task_id} «{title}» è stata creata e collegata a {item}.",
    "view_recorded": "La tua visualizzazione dell'attività {task_id} è stata registrata.",
    "not_bound": "non collegata a un elemento CRM, o non ancora vista",
    "default_title_deal": "Preparare il contratto",
    "default_title_lead": "Richiamare",
    "task_not_visible": "Questa attività non ti è visibile, o non esiste.",
    "item_not_visible": "Questo elemento non ti è visibile, o non esiste.",
}

_TABLES = {"en": EN, "it": IT}


def translator(language: str | None) -> Callable[..., str]:
    """`t(key, **values)` in the portal's language, English when it is unknown."""
    table = _TABLES.get(language_code(language), EN)

    def translate(key: str, **values: object) -> str:
        text = table.get(key, EN.get(key, key))
        return text.format(**values) if values else text

    return translate
