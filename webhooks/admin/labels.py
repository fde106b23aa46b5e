"""The admin pages' words in English and Italian; `translator(lang)` falls back to English."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from mappers.badges import BADGE_TYPES
from mappers.decision_reasons import explain_row
from mappers.decisions import Outcome, Rule
from mappers.reasons import reason_text
from mappers.statuses import CrmTaskStatus, labels_for

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
    "responsible": "Responsible",
    "card_badge": "On the kanban card",
    "no_badge": "No badge: the item is closed or has no open task.",
    "activity": "activity",
    "people": "People",
    "role.responsible": "Task responsible",
    "role.actor": "Changed by",
    "role.assigned_by": "Item responsible",
    "outcome.APPLIED": "applied",
    "outcome.NO_STATUS": "this change sets no status",
    "outcome.ACTOR_RULE": "made by the responsible of a bound CRM item",
    "outcome.SAME_STATUS": "already in this status",
    "outcome.NOT_ALLOWED": "the transition table forbids it",
    "state.pending": "pending",
    "state.processing": "processing",
    "state.done": "done",
    "state.failed": "failed",
    "state.dead": "dead",
    "entries": "Events",
    "close_on_lead": "Close tasks when a lead is converted or junked",
    "close_on_deal": "Close tasks when a deal is won or lost",
    "review_stage": "Review stage per funnel",
    "funnel": "Funnel",
    "none": "(none)",
    "language": "Label language",
    "portal_default": "the portal's language",
    "save": "Save",
    "robots": "Automation rules",
    "robots_registered": "TaskBridge's automation rules are in the automation designer of "
                         "deals and leads.",
    "robots_skipped": "TaskBridge's automation rules are not offered",
    "robots_failed": "TaskBridge's automation rules could not be registered",
    "robots_unknown": "TaskBridge's automation rules are registered at the next install.",
    "saved": "Settings saved.",
    "stages_unavailable": "The portal's stages could not be read; review stages are kept "
                          "as they are.",
    "forbidden_portal": "This page belongs to another portal.",
    "not_found": "Not found.",
    "choose_portal": "Choose a portal",
    "signed_in_as": "Signed in as",
    "err.not_item": "item: {value} is not a CRM item such as D_12, deal:12 or L_5",
    "err.not_outcome": "outcome: {value} is not one of {choices}",
    "err.not_number": "{name}: {value} is not a number",
    "err.not_id": "{name}: {value} is not an id (1 to 18 digits)",
    "err.not_time": "{name}: {value} is not a date and time",
    "err.no_event": "event {id} does not exist",
    "err.not_replayable": "event {id} is {state}; only failed or dead events replay",
    "err.filter_not_replayable": "only failed or dead events replay, not {state}",
    "err.no_funnel": "{name}: the portal has no such funnel",
    "err.not_a_stage": "{name}: {value} is not a stage of that funnel",
    "err.final_stage": "{name}: {value} is a final stage (won or lost); the review stage "
                       "holds a deal before it reaches one",
    "err.funnel_id": "{name}: the funnel must be a category id, e.g. 0",
    "err.unknown_setting": "{name}: unknown setting (known: {known})",
    "err.no_labels": "language: {value} has no labels (known: {known}, or empty for the "
                     "portal's own language)",
    "err.language_code": "{name}: must be a language code such as en or it",
    "err.labels_refused": "language: the portal did not take the status field's {language} "
                          "labels ({code}); nothing changed",
    "err.not_boolean": "{name}: Input should be a valid boolean{rest}",
    "auth.csrf_failed": "The form expired or did not come from this site; reload the page "
                        "and try again.",
    "auth.invalid_admin_token": "The admin token is not valid.",
    "auth.sign_in": "Sign in with the admin token.",
    "auth.admin_disabled": "The admin pages are disabled: TASKBRIDGE_ADMIN_TOKEN is not set "
                           "on this server.",
    "auth.no_secret_key": "Sessions need TASKBRIDGE_SECRET_KEY or TASKBRIDGE_ADMIN_TOKEN.",
    "auth.too_many_attempts": "Too many wrong admin tokens from this address; wait a minute "
                              "and try again.",
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
    "responsible": "Responsabile",
    "card_badge": "Sulla scheda kanban",
    "no_badge": "Nessun badge: l'elemento è chiuso o non ha attività aperte.",
    "activity": "attività CRM",
    "people": "Persone",
    "role.responsible": "Responsabile dell'attività",
    "role.actor": "Modificato da",
    "role.assigned_by": "Responsabile dell'elemento",
    "outcome.APPLIED": "applicato",
    "outcome.NO_STATUS": "questa modifica non imposta uno stato",
    "outcome.ACTOR_RULE": "fatto dal responsabile di un elemento CRM collegato",
    "outcome.SAME_STATUS": "già in questo stato",
    "outcome.NOT_ALLOWED": "la tabella delle transizioni lo vieta",
    "state.pending": "in attesa",
    "state.processing": "in lavorazione",
    "state.done": "fatto",
    "state.failed": "fallito",
    "state.dead": "morto",
    "entries": "Eventi",
    "close_on_lead": "Chiudi le attività quando un lead è convertito o scartato",
    "close_on_deal": "Chiudi le attività quando una trattativa è vinta o persa",
    "review_stage": "Fase di revisione per pipeline",
    "funnel": "Pipeline",
    "none": "(nessuna)",
    "language": "Lingua delle etichette",
    "portal_default": "la lingua del portale",
    "save": "Salva",
    "robots": "Regole di automazione",
    "robots_registered": "Le regole di automazione di TaskBridge sono nel designer delle "
                         "automazioni di trattative e lead.",
    "robots_skipped": "Le regole di automazione di TaskBridge non sono disponibili",
    "robots_failed": "Non è stato possibile registrare le regole di automazione di TaskBridge",
    "robots_unknown": "Le regole di automazione di TaskBridge vengono registrate alla "
                      "prossima installazione.",
    "saved": "Impostazioni salvate.",
    "stages_unavailable": "Impossibile leggere le fasi del portale; le fasi di revisione "
                          "restano invariate.",
    "forbidden_portal": "Questa pagina appartiene a un altro portale.",
    "not_found": "Non trovato.",
    "choose_portal": "Scegli un portale",
    "signed_in_as": "Accesso come",
    "err.not_item": "elemento: {value} non è un elemento CRM come D_12, deal:12 o L_5",
    "err.not_outcome": "esito: {value} non è uno tra {choices}",
    "err.not_number": "{name}: {value} non è un numero",
    "err.not_id": "{name}: {value} non è un id (da 1 a 18 cifre)",
    "err.not_time": "{name}: {value} non è una data e ora",
    "err.no_event": "l'evento {id} non esiste",
    "err.not_replayable": "l'evento {id} è {state}; si rieseguono solo gli eventi falliti "
                          "o morti",
    "err.filter_not_replayable": "si rieseguono solo gli eventi falliti o morti, non {state}",
    "err.no_funnel": "{name}: il portale non ha questa pipeline",
    "err.not_a_stage": "{name}: {value} non è una fase di quella pipeline",
    "err.final_stage": "{name}: {value} è una fase finale (vinta o persa); la fase di "
                       "revisione trattiene una trattativa prima che ne raggiunga una",
    "err.funnel_id": "{name}: la pipeline deve essere l'id di una categoria, per esempio 0",
    "err.unknown_setting": "{name}: impostazione sconosciuta (note: {known})",
    "err.no_labels": "lingua: {value} non ha etichette (disponibili: {known}, o vuoto per la "
                     "lingua del portale)",
    "err.language_code": "{name}: deve essere un codice di lingua come en o it",
    "err.labels_refused": "lingua: il portale non ha accettato le etichette {language} del "
                          "campo di stato ({code}); nulla è cambiato",
    "err.not_boolean": "{name}: deve essere attivo o disattivo",
    "auth.csrf_failed": "Il modulo è scaduto o non proviene da questo sito; ricarica la "
                        "pagina e riprova.",
    "auth.invalid_admin_token": "Il token di amministrazione non è valido.",
    "auth.sign_in": "Accedi con il token di amministrazione.",
    "auth.admin_disabled": "Le pagine di amministrazione sono disattivate: "
                           "TASKBRIDGE_ADMIN_TOKEN non è impostato su questo server.",
    "auth.no_secret_key": "Le sessioni richiedono TASKBRIDGE_SECRET_KEY o "
                          "TASKBRIDGE_ADMIN_TOKEN.",
    "auth.too_many_attempts": "Troppi token di amministrazione errati da questo indirizzo; "
                              "attendi un minuto e riprova.",
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


_STATUS_CODES = re.compile(r"\b(?:" + "|".join(s.value for s in CrmTaskStatus) + r")\b")
_DECISION_FIELDS = ("rule", "outcome", "previous", "desired", "change", "actor_of", "reason")


def decision_reason(language: str) -> Callable[[Any], str]:
    """A status decision's reason in the page's language, from its rule and outcome (the
    stored English reason when the row names neither)."""

    labels = labels_for(language)

    def reason(decision: Any) -> str:
        row = decision if isinstance(decision, Mapping) else {
            name: getattr(decision, name, None) for name in _DECISION_FIELDS}
        text = explain_row(row, language) or str(row.get("reason") or "")
        # The sentences name statuses by code; the pages speak as the portal does.
        return _STATUS_CODES.sub(lambda found: labels[CrmTaskStatus(found[0])], text)

    return reason


def status_badge(language: str) -> Callable[[Any], Markup]:
    """A CRM task status as the kanban card's badge shows it: its label in the page's
    language, coloured by its badge type (`mappers.badges`); the code stays as a data
    attribute. Anything that is not a status is shown as escaped text."""
    labels = labels_for(language)

    def badge(code: Any) -> Markup:
        if code is None or code == "":
            return Markup("")
        try:
            status = CrmTaskStatus(str(code))
        except ValueError:
            return Markup("{}").format(code)
        return Markup('<span class="badge badge-{}" data-status="{}">{}</span>').format(
            BADGE_TYPES[status], status.value, labels[status])

    return badge


def decision_words(language: str) -> Callable[[str, Any], str]:
    """A decision's rule or outcome (`words("rule", value)`) in the page's language; a
    value TaskBridge does not know is shown as stored."""
    t = translator(language)

    def words(part: str, value: Any) -> str:
        text = "" if value is None else str(value)
        try:
            if part == "rule":
                return reason_text(Rule(text), language)
            return t(f"outcome.{Outcome(text).name}")
        except (ValueError, KeyError):
            return text

    return words
