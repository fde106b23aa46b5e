"""The admin pages' words in English and Italian; `translator(lang)` falls back to English."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mappers.decision_reasons import explain_row

LANGUAGES = ("en", "it")

EN = {
    "title": "TaskBridge sync log",
    "log": "Sync log",
    "settings": "Settings",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "admin_token": "Admin token",
    "portal": "Portal",
    "all_portals": "All portals",
    "item": "CRM item",
    "item_hint": "D_12, deal:12, L_5",
    "task": "Task",
    "event": "Event",
    "outcome": "Outcome",
    "any": "any",
    "since": "From",
    "until": "To",
    "text": "Text",
    "filter": "Filter",
    "clear": "Clear",
    "received": "Received",
    "object": "Object",
    "state": "State",
    "attempts": "Attempts",
    "error": "Error",
    "no_rows": "No events match.",
    "older": "Older events",
    "newest": "Newest",
    "searched_to": "Free text searched back to event",
    "search_further": "Search further back",
    "export_csv": "Export CSV",
    "export_json": "Export JSON",
    "replay": "Replay",
    "replay_matching": "Replay failed and dead events matching this filter",
    "dry_run": "Dry run (only count)",
    "replayed": "Queued again",
    "would_replay": "Would queue again",
    "events": "events",
    "event_detail": "Event",
    "payload": "Payload (secrets removed)",
    "fetched": "Fresh state fetched",
    "decisions": "Status decisions",
    "rule": "Rule",
    "reason": "Reason",
    "previous": "Previous",
    "desired": "New",
    "status": "Status",
    "change": "Change",
    "writes": "Writes",
    "rest_calls": "REST calls",
    "method": "Method",
    "duration": "Duration (ms)",
    "result": "Result",
    "retries": "Retries",
    "http": "HTTP",
    "nothing_yet": "Nothing recorded yet.",
    "shared_calls": "The pass {pass_id} that handled this event served {n} other events too: "
                    "these calls were made for all of them, once.",
    "replays": "Replays",
    "by": "By",
    "at": "At",
    "correlation": "Correlation id",
    "item_page": "Item",
    "current_status": "Current status",
    "closed": "closed",
    "tasks": "Tasks",
    "changed_at": "Changed at",
    "status_history": "Task statuses over time",
    "entries": "Events",
    "close_on_lead": "Close tasks when a lead is converted or junked",
    "close_on_deal": "Close tasks when a deal is won or lost",
    "review_stage": "Review stage per funnel",
    "funnel": "Funnel",
    "none": "(none)",
    "language": "Label language",
    "portal_default": "the portal's language",
    "save": "Save",
    "saved": "Settings saved.",
    "stages_unavailable": "The portal's stages could not be read; review stages are kept "
                          "as they are.",
    "forbidden_portal": "This page belongs to another portal.",
    "not_found": "Not found.",
    "choose_portal": "Choose a portal",
    "signed_in_as": "Signed in as",
}

IT = {
    "title": "Registro di sincronizzazione TaskBridge",
    "log": "Registro",
    "settings": "Impostazioni",
    "sign_in": "Accedi",
    "sign_out": "Esci",
    "admin_token": "Token di amministrazione",
    "portal": "Portale",
    "all_portals": "Tutti i portali",
    "item": "Elemento CRM",
    "item_hint": "D_12, deal:12, L_5",
    "task": "Attività",
    "event": "Evento",
    "outcome": "Esito",
    "any": "qualsiasi",
    "since": "Da",
    "until": "A",
    "text": "Testo",
    "filter": "Filtra",
    "clear": "Azzera",
    "received": "Ricevuto",
    "object": "Oggetto",
    "state": "Stato",
    "attempts": "Tentativi",
    "error": "Errore",
    "no_rows": "Nessun evento corrisponde.",
    "older": "Eventi precedenti",
    "newest": "Più recenti",
    "searched_to": "Ricerca testuale fino all'evento",
    "search_further": "Cerca più indietro",
    "export_csv": "Esporta CSV",
    "export_json": "Esporta JSON",
    "replay": "Riesegui",
    "replay_matching": "Riesegui gli eventi falliti e morti di questo filtro",
    "dry_run": "Prova (solo conteggio)",
    "replayed": "Rimessi in coda",
    "would_replay": "Verrebbero rimessi in coda",
    "events": "eventi",
    "event_detail": "Evento",
    "payload": "Contenuto (segreti rimossi)",
    "fetched": "Stato aggiornato letto",
    "decisions": "Decisioni sullo stato",
    "rule": "Regola",
    "reason": "Motivo",
    "previous": "Precedente",
    "desired": "Nuovo",
    "status": "Stato",
    "change": "Modifica",
    "writes": "Scritture",
    "rest_calls": "Chiamate REST",
    "method": "Metodo",
    "duration": "Durata (ms)",
    "result": "Risultato",
    "retries": "Ripetizioni",
    "http": "HTTP",
    "nothing_yet": "Ancora niente di registrato.",
    "shared_calls": "Il passaggio {pass_id} che ha gestito questo evento ne ha serviti "
                    "altri {n}: queste chiamate sono state fatte una volta per tutti.",
    "replays": "Riesecuzioni",
    "by": "Da",
    "at": "Il",
    "correlation": "Id di correlazione",
    "item_page": "Elemento",
    "current_status": "Stato attuale",
    "closed": "chiuso",
    "tasks": "Attività",
    "changed_at": "Cambiato il",
    "status_history": "Stati delle attività nel tempo",
    "entries": "Eventi",
    "close_on_lead": "Chiudi le attività quando un lead è convertito o scartato",
    "close_on_deal": "Chiudi le attività quando una trattativa è vinta o persa",
    "review_stage": "Fase di revisione per pipeline",
    "funnel": "Pipeline",
    "none": "(nessuna)",
    "language": "Lingua delle etichette",
    "portal_default": "la lingua del portale",
    "save": "Salva",
    "saved": "Impostazioni salvate.",
    "stages_unavailable": "Impossibile leggere le fasi del portale; le fasi di revisione "
                          "restano invariate.",
    "forbidden_portal": "Questa pagina appartiene a un altro portale.",
    "not_found": "Non trovato.",
    "choose_portal": "Scegli un portale",
    "signed_in_as": "Accesso come",
}

_TABLES = {"en": EN, "it": IT}


def pick_language(*candidates: str | None) -> str:
    for candidate in candidates:
        code = (candidate or "").lower()[:2]
        if code in _TABLES:
            return code
    return "en"


def translator(language: str) -> Callable[[str], str]:
    table = _TABLES.get(language, EN)
    return lambda key: table.get(key, EN.get(key, key))


_DECISION_FIELDS = ("rule", "outcome", "previous", "desired", "change", "actor_of", "reason")


def decision_reason(language: str) -> Callable[[Any], str]:
    """A status decision's reason in the page's language, from its rule and outcome (the
    stored English reason when the row names neither)."""

    def reason(decision: Any) -> str:
        row = decision if isinstance(decision, Mapping) else {
            name: getattr(decision, name, None) for name in _DECISION_FIELDS}
        return explain_row(row, language) or str(row.get("reason") or "")

    return reason
