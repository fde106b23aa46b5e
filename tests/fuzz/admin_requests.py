"""Strategies for the admin pages, health, metrics and static files: hostile query
strings and path values, forms with and without CSRF, every kind of viewer (none, bearer,
staff and portal-admin sessions, forged cookies), sign-in with a hostile `next`."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.fuzz_keys import ADMIN_COOKIE, LOGIN_COOKIE, FuzzKeys
from tests.fuzz.generated import Fuzzed, assemble
from tests.fuzz.hostile import FORM, body_shapes, form, odd_ids, query, texts

GET = ("GET", "HEAD")
POST = ("POST",)
FILTER = ("portal", "item", "task", "event", "outcome", "since", "until", "q", "before",
          "lang", "notice", "dry_run")
VIEWERS = ("none", "bearer", "bad bearer", "staff", "staff", "portal", "forged cookie")
ACCEPTS = (b"text/html", b"application/json", b"*/*", b"application/json;q=0.1, text/html",
           b"image/png", b";;;")
NEXTS = ("/admin/", "/admin/\n", "/admin/\r\nSet-Cookie: x=1", "//evil.example/admin",
         "https://evil.example/admin", "/admin\\..\\", "/admin/?a=\x00", "/admin/" + "x" * 5000,
         "/admin/%0d%0a", "javascript:alert(1)", "/admin/\u2028")
ITEMS = ("deal:1", "lead:1", "D_1", "L_1", "deal:²", "deal:9999999999999999999999999",
         "deal:-1", "task:1", "deal:", ":", "deal:1\n", "x" * 300, "deal:٣")


def _filter_value(draw: st.DrawFn, name: str) -> str:
    genuine = {"portal": "1", "item": "deal:1", "task": "1", "event": "ONCRMDEALADD",
               "outcome": "failed", "since": "2026-01-01T00:00", "until": "2027-01-01",
               "before": "100", "lang": "ru", "notice": "replayed:1", "dry_run": "1",
               "q": "deal"}[name]
    pick = draw(st.integers(0, 3))
    if pick == 0:
        return genuine
    if pick == 1 and name == "item":
        return draw(st.sampled_from(ITEMS))
    return draw(odd_ids) if pick == 1 else draw(texts)


def _filters(draw: st.DrawFn) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(FILTER), max_size=5))
    return [(name, _filter_value(draw, name)) for name in names]


def _viewer(draw: st.DrawFn, keys: FuzzKeys) -> tuple[str, list[tuple[bytes, bytes]]]:
    viewer = draw(st.sampled_from(VIEWERS))
    headers = [(b"Accept", draw(st.sampled_from(ACCEPTS)))]
    if viewer == "bearer":
        headers.append((b"Authorization", b"Bearer " + keys.admin_token.encode()))
    elif viewer == "bad bearer":
        headers.append((b"Authorization", b"Bearer " + draw(texts).encode("utf-8",
                                                                           "surrogatepass")))
    elif viewer in ("staff", "portal"):
        cookie = keys.session_cookie(viewer)
        headers.append((b"Cookie", f"{ADMIN_COOKIE}={cookie}".encode()))
    elif viewer == "forged cookie":
        cookie = keys.session_cookie("staff")
        forged = draw(st.sampled_from([cookie[:-2] + "xx", "e30.x.y", "", cookie + "."]))
        headers.append((b"Cookie", f"{ADMIN_COOKIE}={forged}".encode()))
    return viewer, headers


def _csrf(draw: st.DrawFn, keys: FuzzKeys, viewer: str) -> tuple[str, list[tuple[str, str]]]:
    how = draw(st.sampled_from(["genuine", "genuine", "missing", "hostile", "twice"]))
    if how == "missing":
        return how, []
    if how == "hostile":
        return how, [("csrf_token", draw(texts))]
    genuine = keys.csrf(viewer) if viewer in ("staff", "portal") else "no-session"
    if how == "twice":
        return how, [("csrf_token", draw(texts)), ("csrf_token", genuine)]
    return how, [("csrf_token", genuine)]


def _segment(draw: st.DrawFn, genuine: str) -> str:
    """A path segment: the genuine value, or a hostile one percent-encoded."""
    value = draw(st.sampled_from([genuine, genuine]) | odd_ids | texts)
    return quote(value, safe="") or genuine


@st.composite
def admin_requests(draw: st.DrawFn, keys: FuzzKeys, endpoint: str) -> Fuzzed:
    viewer, headers = _viewer(draw, keys)
    entry = _segment(draw, draw(st.sampled_from(["1", "2", "٣", "0"])))
    path = {
        "admin.log_list": "/admin/", "admin.my_settings": "/admin/settings",
        "admin.replay_filtered": "/admin/replay", "admin.logout": "/admin/logout",
        "admin.entry": f"/admin/events/{entry}",
        "admin.replay_entry": f"/admin/events/{entry}/replay",
        "admin.item": f"/admin/portals/{_segment(draw, str(keys.portal_id))}/items/"
                      f"{_segment(draw, draw(st.sampled_from(ITEMS)))}",
        "admin.export":
            f"/admin/export.{draw(st.sampled_from(['csv', 'json', 'xml', 'csv%0a']))}",
        "admin.settings": f"/admin/portals/{_segment(draw, keys.member_id)}/settings",
        "admin.backfill_start": f"/admin/portals/{_segment(draw, keys.member_id)}/backfill",
        "admin.backfill_status":
            f"/admin/portals/{_segment(draw, keys.member_id)}/backfill.json",
    }[endpoint]
    methods = POST if endpoint in ("admin.replay_entry", "admin.replay_filtered",
                                   "admin.logout", "admin.backfill_start") else GET
    if endpoint == "admin.settings" and draw(st.booleans()):
        methods = POST
    target = (path.encode() + query(_filters(draw))) if methods == GET else path.encode()
    if methods == GET:
        return assemble(draw, endpoint, f"admin GET as {viewer}", methods=methods,
                        target=target, headers=headers)
    how, pairs = _csrf(draw, keys, viewer)
    if endpoint == "admin.settings":
        pairs += _settings_form(draw)
    elif endpoint != "admin.logout":
        pairs += _filters(draw)
    if draw(st.integers(0, 5)) == 5:
        content_type, body, _shape = draw(body_shapes())
    else:
        content_type, body = FORM, form(pairs)
    return assemble(draw, endpoint, f"admin POST as {viewer}, {how} csrf", methods=methods,
                    target=target, content_type=content_type, body=body, headers=headers)


def _settings_form(draw: st.DrawFn) -> list[tuple[str, str]]:
    pairs = [("close_tasks_on_lead_convert", draw(st.sampled_from(["", "on"]) | texts)),
             ("close_tasks_on_deal_close", draw(st.sampled_from(["", "on"]) | texts)),
             ("language", draw(st.sampled_from(["en", "ru", "de", ""]) | texts))]
    stages = draw(st.lists(st.tuples(odd_ids, texts), max_size=3))
    pairs += [(f"review_stage.{funnel}", stage) for funnel, stage in stages]
    pairs += [("review_stage.0", draw(st.sampled_from(["", "C0:NEW", "WON"]) | texts))]
    return pairs


@st.composite
def login_requests(draw: st.DrawFn, keys: FuzzKeys, endpoint: str) -> Fuzzed:
    path = b"/admin/login"
    next_value = draw(st.sampled_from(NEXTS) | texts)
    headers = [(b"Accept", draw(st.sampled_from(ACCEPTS)))]
    if endpoint == "admin.login":
        return assemble(draw, endpoint, "sign-in page", methods=GET, headers=headers,
                        target=path + query([("next", next_value), *_filters(draw)[:1]]))
    how = draw(st.sampled_from(["genuine", "genuine", "missing", "hostile", "no cookie"]))
    cookie, csrf = keys.login_form() if how in ("genuine", "no cookie") else ("", "")
    if how == "genuine":
        headers.append((b"Cookie", f"{LOGIN_COOKIE}={cookie}".encode()))
    pairs = [("next", next_value),
             ("token", keys.admin_token if draw(st.booleans()) else draw(texts))]
    if how != "missing":
        pairs.append(("csrf_token", csrf if how != "hostile" else draw(texts)))
    return assemble(draw, endpoint, f"sign-in, {how} csrf", methods=POST, target=path,
                    content_type=FORM, body=form(pairs), headers=headers)


@st.composite
def health_requests(draw: st.DrawFn, endpoint: str, path: str) -> Fuzzed:
    target = path.encode() + query(draw(st.lists(st.tuples(texts, texts), max_size=3)))
    content_type, body = "", b""
    if draw(st.integers(0, 4)) == 4:
        content_type, body, _shape = draw(body_shapes())
    return assemble(draw, endpoint, "health", methods=GET, target=target,
                    content_type=content_type, body=body)


@st.composite
def static_requests(draw: st.DrawFn) -> Fuzzed:
    name = draw(st.sampled_from(["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "x%00.css",
                                 "a" * 3000, "app.js%0a", "..%5c..%5cwin.ini", "."])
                | texts.map(lambda t: quote(t, safe="")))
    return assemble(draw, "static", "static", methods=GET, target=f"/static/{name}".encode())
