"""Hostile values every endpoint's strategies draw from: ids that look like numbers to
`str.isdigit` but not to `int`, control characters and newlines, keys and JSON built to
exhaust a parser, wrong content types and methods, bodies framed every way HTTP allows."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import strategies as st

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 256 * 1024  # TASKBRIDGE_MAX_EVENT_BODY's default: Flask's MAX_CONTENT_LENGTH

# "²" and the bold nine pass str.isdigit and fail int(); "٣" and "१२" pass both; the rest are the
# usual suspects: too long for a 64-bit column, signed, spaced, written as a float.
ODD_IDS = ("²", "٣", "१२", "\U0001d7d7", "9" * 25, "9" * 400, "-1", "0", "", " 1", "1 ", "+1",
           "1.0", "1e3", "0x10", "1_000", "1\n", "1\r\n2", "\x00", "1\x00", "NaN", "[]",
           "18446744073709551616", "\u0660")
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\x85\u2028\u2029\ufeff"
ODD_CONTENT_TYPES = (FORM, "application/json", "text/plain", "", "multipart/form-data",
                     "multipart/form-data; boundary=x", f"{FORM}; charset=latin-1",
                     "application/json; charset=utf-16", "application/xml", "*/*",
                     "application/json\x0b", "application/x-www-form-urlencoded, text/html")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
           "PROPFIND", "get", "FOO")
FRAMINGS = ("length", "length", "length", "chunked", "none", "bad chunks")

odd_ids = st.one_of(st.sampled_from(ODD_IDS), st.integers(-2**70, 2**70).map(str),
                    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=30))
controlled = st.text(st.sampled_from(CONTROL), min_size=1, max_size=6)
plain = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
# Text with a control character or a newline somewhere in it, or none at all.
texts = st.one_of(plain, st.builds(lambda a, c, b: a + c + b, plain, controlled, plain),
                  odd_ids)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80),
                         st.floats(allow_nan=True), texts)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=20)


@st.composite
def huge_key(draw: st.DrawFn) -> bytes:
    """`a[][][]…` up to 256 KiB, or a key that deep with names, or that long plain."""
    size = draw(st.sampled_from([1_000, 16_000, 100_000, MAX_BODY - 16, MAX_BODY]))
    unit = draw(st.sampled_from([b"[]", b"[x]", b"[0]", b"k"]))
    return b"a" + unit * (size // len(unit)) + b"=1"


@st.composite
def deep_json(draw: st.DrawFn) -> bytes:
    """`[` 50,000 times and friends: JSON that recurses the parser or the checks behind it."""
    depth = draw(st.sampled_from([50_000, 5_000, 1_001, 100, 10]))
    opener = draw(st.sampled_from(["[", '{"a":', '{"data":{"FIELDS":']))
    closed = draw(st.booleans())
    closer = {"[": "]", '{"a":': "}", '{"data":{"FIELDS":': "}}"}[opener]
    return (opener * depth + ("1" + closer * depth if closed else "")).encode()


def form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs).encode()


def query(pairs: list[tuple[str, str]]) -> bytes:
    return b"?" + form(pairs) if pairs else b""


@st.composite
def body_shapes(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(content type, body, kind) of a body no endpoint should take."""
    kind = draw(st.sampled_from(["huge key", "deep json", "bytes", "json", "big body",
                                 "many keys", "bad utf-8 form", "empty"]))
    content_type = draw(st.sampled_from(ODD_CONTENT_TYPES))
    if kind == "huge key":
        return FORM, draw(huge_key()), kind
    if kind == "deep json":
        return draw(st.sampled_from(["application/json", content_type])), draw(deep_json()), kind
    if kind == "bytes":
        return content_type, draw(st.binary(max_size=300)), kind
    if kind == "json":
        return "application/json", json.dumps(draw(json_values)).encode(), kind
    if kind == "big body":
        return content_type, b"a=" + b"x" * draw(st.sampled_from([MAX_BODY, 300_000])), kind
    if kind == "many keys":
        return FORM, form([(f"k{i}", "1") for i in range(draw(st.sampled_from([501, 3000])))]), \
            kind
    if kind == "bad utf-8 form":
        return FORM, b"member_id=%ff%fe&a%c3=\xff\xfe&b[%80]=1", kind
    return content_type, b"", kind


@st.composite
def hostile_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Header-derived values with control characters, newlines, folding and junk."""
    names = draw(st.lists(st.sampled_from(
        [b"Authorization", b"Cookie", b"Accept", b"Accept-Language",
         b"X-Forwarded-For", b"X-Forwarded-Proto", b"Referer", b"User-Agent", b"Origin"]),
        max_size=3, unique=True))
    headers = []
    for name in names:
        value = draw(texts).encode("utf-8", "surrogatepass")
        if draw(st.booleans()):
            value += draw(st.sampled_from([b"\n", b"\r", b"\r\n x", b"\x00", b"\xff", b"\t"]))
        headers.append((name, value))
    return headers
