"""PHP-bracket forms, the way Bitrix24 posts events: ``data[FIELDS][ID]=759``.

``parse_form`` turns (key, value) pairs into nested dicts and lists; ``encode_form``
is its inverse. A PHP array becomes a list when its keys are exactly ``0..n-1`` in
order (what PHP's ``json_encode`` does), otherwise a dict with string keys. ``a[]``
appends the next integer key, as PHP does. Unlike PHP, which silently rewrites odd
keys, anything ambiguous is refused with a ``FormError`` subclass: unclosed or stray
brackets, text after the last bracket, an empty name, a key set twice, or a key that
is both a value and a container. Limits are checked before any work on a key: its length,
then its depth by counting ``[`` (a key of ``a[][]...`` costs nothing to refuse), and
errors quote at most a short excerpt of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from mappers.errors import (
    ConflictingKeyError,
    FormError,
    KeyTooLongError,
    MalformedKeyError,
    TooDeepError,
    TooManyKeysError,
)

DEFAULT_MAX_KEYS = 1000
DEFAULT_MAX_DEPTH = 8
DEFAULT_MAX_KEY_LENGTH = 256

FormValue = str | list["FormValue"] | dict[str, "FormValue"]

_INDEX = re.compile(r"0|[1-9][0-9]{0,17}")


def split_key(key: str) -> list[str]:
    """Split ``a[b][]`` into ``['a', 'b', '']``; raise ``MalformedKeyError`` if odd."""
    head, bracket, rest = key.partition("[")
    if not head:
        raise MalformedKeyError(key, "the name before the brackets is empty")
    if "]" in head:
        raise MalformedKeyError(key, "']' without a matching '['")
    parts = [head]
    while bracket:
        inner, closing, rest = rest.partition("]")
        if not closing:
            raise MalformedKeyError(key, "'[' is never closed")
        if "[" in inner:
            raise MalformedKeyError(key, "'[' inside brackets")
        parts.append(inner)
        if rest and not rest.startswith("["):
            raise MalformedKeyError(key, "text after a closing bracket")
        bracket, rest = rest[:1], rest[1:]
    return parts


def _next_index(container: dict[str, object]) -> str:
    indexes = [int(k) for k in container if _INDEX.fullmatch(k)]
    return str(max(indexes) + 1) if indexes else "0"


def _assign(root: dict[str, object], key: str, parts: list[str], value: str) -> None:
    node = root
    for part in parts[:-1]:
        name = _next_index(node) if part == "" else part
        existing = node.get(name)
        if existing is None:
            existing = node[name] = {}
        elif not isinstance(existing, dict):
            raise ConflictingKeyError(key, "is already a plain value")
        node = existing
    name = _next_index(node) if parts[-1] == "" else parts[-1]
    existing = node.get(name)
    if isinstance(existing, dict):
        raise ConflictingKeyError(key, "is already a container of keys")
    if existing is not None:
        raise ConflictingKeyError(key, "set more than once")
    node[name] = value


def _finish(node: object) -> FormValue:
    if not isinstance(node, dict):
        return node  # type: ignore[return-value]
    values = {name: _finish(child) for name, child in node.items()}
    if list(values) == [str(i) for i in range(len(values))]:
        return list(values.values())
    return values


def bounded_split(key: str, *, max_depth: int = DEFAULT_MAX_DEPTH,
                  max_key_length: int = DEFAULT_MAX_KEY_LENGTH) -> list[str]:
    """`split_key` after the cheap checks: the key's length, then its count of ``[``."""
    if len(key) > max_key_length:
        raise KeyTooLongError(key, max_key_length)
    depth = key.count("[")
    if depth > max_depth:
        raise TooDeepError(key, depth, max_depth)
    return split_key(key)


def parse_form(
    pairs: Iterable[tuple[str, str]],
    *,
    max_keys: int = DEFAULT_MAX_KEYS,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_key_length: int = DEFAULT_MAX_KEY_LENGTH,
) -> dict[str, FormValue]:
    """Nest form pairs by their bracket keys; only ``FormError`` subclasses are raised."""
    root: dict[str, object] = {}
    for count, pair in enumerate(pairs, start=1):
        if count > max_keys:
            raise TooManyKeysError(count, max_keys)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise FormError(f"form pair #{count} is not a (key, value) tuple")
        key, value = pair
        if not isinstance(key, str) or not isinstance(value, str):
            raise FormError(f"form pair #{count} must hold two strings")
        parts = bounded_split(key, max_depth=max_depth, max_key_length=max_key_length)
        _assign(root, key, parts, value)
    result: dict[str, FormValue] = {}
    for name, node in root.items():
        result[name] = _finish(node)
    return result


def parse_urlencoded(
    body: str | bytes,
    *,
    max_keys: int = DEFAULT_MAX_KEYS,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_key_length: int = DEFAULT_MAX_KEY_LENGTH,
) -> dict[str, FormValue]:
    """Parse an ``application/x-www-form-urlencoded`` body (UTF-8) into nested values."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError(f"form body is not UTF-8: {exc.reason}") from exc
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=max_keys, errors="strict")
    except UnicodeDecodeError as exc:
        raise FormError(f"form body has percent-escapes that are not UTF-8: {exc.reason}") from exc
    except ValueError as exc:  # parse_qsl's own limit
        raise TooManyKeysError(max_keys + 1, max_keys) from exc
    return parse_form(pairs, max_keys=max_keys, max_depth=max_depth,
                      max_key_length=max_key_length)


def _encode(prefix: str, value: object, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        raise TypeError(f"form value for {prefix!r} is a bool; send 'Y'/'N' or '1'/'0'")
    if isinstance(value, str | int):
        out.append((prefix, str(value)))
    elif isinstance(value, Mapping):
        for name, child in value.items():
            _encode(f"{prefix}[{name}]", child, out)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _encode(f"{prefix}[{index}]", child, out)
    else:
        raise TypeError(f"form value for {prefix!r} has unsupported type {type(value).__name__}")


def encode_form(nested: Mapping[str, object]) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists of strings into bracket-keyed pairs (``http_build_query``).

    Lists get explicit indexes (``a[0]``, ``a[1]``); ``None`` and empty containers are
    left out, as PHP does; ints become strings.
    """
    out: list[tuple[str, str]] = []
    for name, value in nested.items():
        _encode(str(name), value, out)
    return out
