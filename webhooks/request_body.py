"""Turn a request body into plain nested data, once, with limits.

Portals send `application/x-www-form-urlencoded` with PHP bracket keys; some tools send
JSON. Anything else is refused. The code behind the views never sees Flask.

Every limit is checked before the work it bounds: the body's size whatever its transfer
encoding (werkzeug cuts a chunked body at the limit and hands back the first part, so
the body is read here, one byte past the limit), the nesting of JSON before it is
decoded, a form key's length and depth before it is split. Refusals name the limit and
never echo the body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request

from mappers.errors import FormError
from mappers.php_form import parse_urlencoded
from webhooks.errors import BodyError

MAX_KEYS = 500
MAX_DEPTH = 8
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
READ_SIZE = 64 * 1024

# What decides JSON nesting: strings (skipped whole, brackets in them do not count) and
# brackets.
_JSON_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def read_body(request: Request, *, include_query: bool = False) -> dict[str, Any]:
    """Nested data of a form or JSON body (plus the query string when asked)."""
    mimetype = request.mimetype
    raw = read_raw(request)
    if mimetype == FORM or (not mimetype and not raw):
        body = _form(raw)
    elif mimetype == JSON:
        body = parse_json(raw)
    else:
        raise BodyError(415, "unsupported_media_type",
                        f"send {FORM} or {JSON}, not {mimetype[:64] or 'no content type'}")
    if include_query and request.query_string:
        query = _form(request.query_string)
        body = {**query, **body}
    return body


def read_json(request: Request) -> dict[str, Any]:
    """The JSON object of a body that must be JSON (415 otherwise)."""
    if request.mimetype != JSON:
        raise BodyError(415, "unsupported_media_type", f"send {JSON}")
    return parse_json(read_raw(request))


def read_raw(request: Request) -> bytes:
    """The body's bytes; 413 past the app's limit, with or without a Content-Length."""
    limit = request.max_content_length
    cached = getattr(request, "_cached_data", None)
    if cached is not None:
        return cached
    if limit is None or request.content_length is not None:
        # werkzeug refuses a declared length past the limit and reads no further than it.
        return request.get_data(cache=True)
    environ = request.environ
    if not environ.get("wsgi.input_terminated"):
        return b""  # a server that does not end the stream itself: nothing is safe to read
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(READ_SIZE, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise BodyError(413, "content_too_large", f"the body is over the limit of {limit} bytes")
    data = b"".join(chunks)
    request._cached_data = data  # later reads see this body, not an exhausted stream
    return data


def _form(raw: bytes) -> dict[str, Any]:
    try:
        return parse_urlencoded(raw, max_keys=MAX_KEYS, max_depth=MAX_DEPTH)
    except FormError as exc:
        raise BodyError(400, "bad_form", str(exc)) from exc


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object within `MAX_DEPTH` levels and `MAX_KEYS` values; `BodyError` if not."""
    if _nested_too_deep(raw):
        raise BodyError(400, "bad_json", f"JSON body is nested deeper than {MAX_DEPTH} levels")
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


def _nested_too_deep(raw: bytes) -> bool:
    """Whether brackets open past the depth limit, found before decoding (which recurses)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH + 1:
        return False
    depth = 0
    for token in _JSON_NESTING.finditer(raw):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH + 1:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


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
