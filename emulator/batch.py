"""``batch``: up to 50 commands, ``halt``, and ``$result[key][field]`` references."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from emulator import php_form
from emulator.errors import RestError
from emulator.params import pick
from emulator.registry import MethodRegistry

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

MAX_COMMANDS = 50
_REFERENCE = re.compile(r"\$result\[([^\]]*)\]((?:\[[^\]]*\])*)")


def _lookup(results: dict[str, Any], key: str, path: str) -> Any:
    """Walk the path as a portal does: a missing step stops the walk where it is, so the
    value is the deepest part found (the page's list for a missing `[49]`), not nothing."""
    value: Any = results
    for part in [key, *re.findall(r"\[([^\]]*)\]", path)]:
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            break
    return value


def _resolve(pairs: list[tuple[str, str]], results: dict[str, Any]) -> list[tuple[str, str]]:
    resolved: list[tuple[str, str]] = []
    for name, value in pairs:
        whole = _REFERENCE.fullmatch(value)
        if whole:
            found = _lookup(results, whole.group(1), whole.group(2))
            if isinstance(found, dict | list):
                resolved.extend(php_form.flatten({name: found}))
                continue
            resolved.append((name, php_form.to_form_string(found)))
            continue
        resolved.append((name, _REFERENCE.sub(lambda m: _inline(results, m), value)))
    return resolved


def _inline(results: dict[str, Any], match: re.Match[str]) -> str:
    """A reference inside a longer value: scalars are pasted in; anything else leaves
    the reference text as it was, as the portal does."""
    found = _lookup(results, match.group(1), match.group(2))
    if isinstance(found, dict | list):
        return match.group(0)
    return php_form.to_form_string(found)


def _commands(raw: Any) -> tuple[list[tuple[str, str]], bool]:
    if isinstance(raw, list):
        return [(str(i), str(c)) for i, c in enumerate(raw)], True
    if isinstance(raw, dict):
        return [(str(k), str(v)) for k, v in raw.items()], False
    raise RestError("INVALID_ARG_VALUE", "cmd must be an array", 400)


def batch(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    commands, as_list = _commands(pick(params, "cmd", default={}))
    if len(commands) > MAX_COMMANDS:
        raise RestError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
    halt = str(pick(params, "halt", default=0)) in ("1", "true", "True", "Y")
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    for key, command in commands:
        method, _, query = command.partition("?")
        if method.strip().lower() == "batch":
            errors[key] = {"error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
                           "error_description": "Method is not allowed for batch usage"}
        else:
            pairs = _resolve(parse_qsl(query, keep_blank_values=True), results)
            sub_params = php_form.parse_pairs(p for p in pairs if p[0] != "auth")
            # A command may name its own auth_connector, as a request does at top level.
            connector = str(sub_params.get("auth_connector", "") or "")
            sub_ctx = replace(ctx, auth_connector=connector) if connector else ctx
            outcome = portal.rest.call(sub_ctx, method.strip(), sub_params, in_batch=True)
            if outcome.error is None:
                results[key] = outcome.result
                times[key] = outcome.time
                if outcome.total is not None:
                    totals[key] = outcome.total
                if outcome.next is not None:
                    nexts[key] = outcome.next
            else:
                errors[key] = outcome.error
        if key in errors and halt:
            break
    shape = (lambda d: list(d.values())) if as_list else (lambda d: d)
    return {
        section: shape(values) if values else []
        for section, values in (("result", results), ("result_error", errors),
                                ("result_total", totals), ("result_next", nexts),
                                ("result_time", times))
    }


def register(registry: MethodRegistry) -> None:
    registry.method("batch", None)(batch)
