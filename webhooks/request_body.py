"""Turn a request body into plain nested data, once, with limits.

Portals send `application/x-www-form-urlencoded` with PHP bracket keys; some tools send
JSON. Anything else is refused. The code behind the views never sees Flask.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from mappers.errors import FormError
from mappers.php_form import parse_urlencoded

MAX_KEYS = 500
MAX_DEPTH = 8
FORM = "application/x-www-form-urlencoded"


class BodyError(Exception):
    """A body TaskBridge will not read; `status` is the HTTP answer, `code` the reason."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def read_body(request: Request, *, include_query: bool = False) -> dict[str, Any]:
    """Nested data of a form or JSON body (plus the query string when asked)."""
    mimetype = request.mimetype
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if mimetype == FORM or (not mimetype and not raw):
        body = _form(raw)
    elif mimetype == "application/json":
        body = _json(raw)
    else:
        raise BodyError(415, "unsupported_media_type",
                        f"send {FORM} or application/json, not {mimetype or 'no content type'}")
    if include_query and request.query_string:
        query = _form(request.query_string)
        body = {**query, **body}
    return body


def _form(raw: bytes) -> dict[str, Any]:
    try:
        return parse_urlencoded(raw, max_keys=MAX_KEYS, max_depth=MAX_DEPTH)
    except FormError as exc:
        raise BodyError(400, "bad_form", str(exc)) from None


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BodyError(400, "bad_json", f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(body, dict):
        raise BodyError(400, "bad_json", "body must be a JSON object")
    if _depth_or_size_exceeded(body):
        raise BodyError(400, "bad_json", f"JSON body has too many keys or is nested too deep "
                                         f"(at most {MAX_KEYS} values, {MAX_DEPTH} levels)")
    return body


def _depth_or_size_exceeded(body: Any) -> bool:
    count = 0
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH + 1:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) \
            else ()
        for child in children:
            count += 1
            if count > MAX_KEYS:
                return True
            stack.append((child, depth + 1))
    return False
