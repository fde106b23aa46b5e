"""One generated request and how each endpoint's strategy puts it together: mostly the
route's own method, sometimes a wrong one; any framing; hostile headers on top."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.fuzz.hostile import FRAMINGS, METHODS, hostile_headers
from tests.fuzz.raw_http import RawRequest


@dataclass(frozen=True)
class Fuzzed:
    endpoint: str  # the url_map endpoint this request aims at
    kind: str  # what was done to it, for the report
    request: RawRequest


def assemble(draw: st.DrawFn, endpoint: str, kind: str, *, methods: Sequence[str], target: bytes,
             content_type: str = "", body: bytes = b"",
             headers: Sequence[tuple[bytes, bytes]] = ()) -> Fuzzed:
    """The request with one of `methods` (one time in eight a wrong one), a framing, the
    given headers and maybe hostile ones."""
    method = draw(st.sampled_from(list(methods)))
    if draw(st.integers(0, 7)) == 7:
        method = draw(st.sampled_from(METHODS))
        kind = f"{kind}, method {method}"
    framing = draw(st.sampled_from(FRAMINGS)) if body or draw(st.booleans()) else "length"
    if framing != "length":
        kind = f"{kind}, {framing}"
    extra = list(headers)
    if content_type:
        extra.append((b"Content-Type", content_type.encode("utf-8", "surrogatepass")))
    if draw(st.integers(0, 3)) == 3:
        extra += draw(hostile_headers())
        kind = f"{kind}, hostile headers"
    return Fuzzed(endpoint, kind, RawRequest(method, target, tuple(extra), body, framing))
