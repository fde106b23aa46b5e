"""PHP bracket forms: ``a[b][0]=x`` to nested dicts and back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

_KEY = re.compile(r"^([^\[\]]*)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """``data[FIELDS][ID]`` -> ``["data", "FIELDS", "ID"]``."""
    match = _KEY.match(key)
    if not match or not match.group(1):
        return [key]
    return [match.group(1), *_PART.findall(match.group(2))]


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest flat form pairs the way PHP fills ``$_REQUEST``; ``[]`` appends."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(_next_index(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(root)


def _next_index(node: dict[str, Any]) -> int:
    numeric = [int(k) for k in node if k.isdigit()]
    return max(numeric) + 1 if numeric else 0


def _listify(value: Any) -> Any:
    """Turn dicts keyed 0..n-1 into lists, as JSON clients would have sent them."""
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    keys = list(converted)
    if keys and all(k.isdigit() for k in keys) and sorted(map(int, keys)) == list(
        range(len(keys))
    ):
        return [converted[str(i)] for i in range(len(keys))]
    return converted


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested data -> flat bracket pairs with every value a string."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(flatten(value, name))
        elif isinstance(value, list | tuple):
            pairs.extend(flatten({str(i): v for i, v in enumerate(value)}, name))
        else:
            pairs.append((name, to_form_string(value)))
    return pairs


def to_form_string(value: Any) -> str:
    """How PHP prints a scalar into a form."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return ""
    return str(value)


def encode(data: Mapping[str, Any]) -> str:
    """Nested data -> ``application/x-www-form-urlencoded`` body with bracket keys."""
    return "&".join(
        f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in flatten(data)
    )
