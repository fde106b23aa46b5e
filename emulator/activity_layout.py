"""Checks a configurable activity's ``layout`` as the REST docs' ``structure/`` pages
describe it, and picks a text's language (``textWithTranslation``).

Errors carry the documented codes: ``ERROR_EMPTY_LAYOUT``, ``FIELD_IS_REQUIRED``,
``FIELD_IS_REDUNDANT``, ``ENUM_FIELD``, ``TOO_MANY_ITEMS``, ``KEY_CONTAIN_WRONG_SYMBOLS``,
``WRONG_LANG`` and ``WRONG_FIELD_VALUE`` (a value of the wrong shape); the description
names the path, e.g. ``layout.header.tags.t1.type``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from emulator.errors import RestError

TAG_TYPES = ("warning", "success", "failure", "primary", "secondary")
BUTTON_TYPES = ("primary", "secondary")
SCOPES = ("web", "mobile")
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_TAGS = _MAX_BUTTONS = 2
_MAX_BLOCKS = 20
_INLINE_BLOCKS = ("text", "link", "deadline")


def pick_language(value: Any, lang: str) -> str:
    """A string as it is; a map: ``lang``, else English, else its first entry."""
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    for key in (lang, "en"):
        if value.get(key) not in (None, ""):
            return str(value[key])
    return str(next(iter(value.values()), ""))


def _fail(code: str, path: str, text: str) -> RestError:
    return RestError(code, f"{path}: {text}", 400)


class LayoutChecker:
    """One check of one layout; ``languages`` are the portal's language codes."""

    def __init__(self, languages: Iterable[str]) -> None:
        self.languages = frozenset(languages)

    def check(self, layout: Any) -> dict[str, Any]:
        if layout in (None, "", [], {}):
            raise RestError("ERROR_EMPTY_LAYOUT", "Layout is empty", 400)
        self._object(layout, "layout", {"icon": self._icon, "header": self._header,
                                        "body": self._body, "footer": self._footer},
                     required=("icon", "header", "body"))
        return layout

    # shapes -------------------------------------------------------------------
    def _object(self, value: Any, path: str, fields: dict[str, Callable[[Any, str], None]],
                required: tuple[str, ...] = ()) -> None:
        if not isinstance(value, dict):
            raise _fail("WRONG_FIELD_VALUE", path, "must be an object")
        for name in required:
            if value.get(name) in (None, "", [], {}):
                raise _fail("FIELD_IS_REQUIRED", f"{path}.{name}", "field is required")
        for name, item in value.items():
            check = fields.get(name)
            if check is None:
                raise _fail("FIELD_IS_REDUNDANT", f"{path}.{name}", "unknown field")
            check(item, f"{path}.{name}")

    def _map(self, value: Any, path: str, limit: int | None, item: Callable[[Any, str], None],
             ) -> None:
        """An associative array: keys of Latin letters, digits, ``-`` and ``_``."""
        if value in ([], {}):
            return
        if not isinstance(value, dict):
            raise _fail("WRONG_FIELD_VALUE", path, "must be an associative array")
        if limit is not None and len(value) > limit:
            raise _fail("TOO_MANY_ITEMS", path, f"no more than {limit} items allowed")
        for key, entry in value.items():
            if not _KEY.match(str(key)):
                raise _fail("KEY_CONTAIN_WRONG_SYMBOLS", f"{path}.{key}",
                            "only Latin letters, digits, '-' and '_' are allowed")
            item(entry, f"{path}.{key}")

    # leaves -------------------------------------------------------------------
    def _text(self, value: Any, path: str) -> None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return
        if not isinstance(value, dict) or not value:
            raise _fail("WRONG_FIELD_VALUE", path, "must be a string or a language map")
        for lang, text in value.items():
            if str(lang) not in self.languages:
                raise _fail("WRONG_LANG", f"{path}.{lang}",
                            f"language {lang!r} is not set on the portal")
            if not isinstance(text, str):
                raise _fail("WRONG_FIELD_VALUE", f"{path}.{lang}", "must be a string")

    @staticmethod
    def _string(value: Any, path: str) -> None:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise _fail("WRONG_FIELD_VALUE", path, "must be a string")

    @staticmethod
    def _flag(value: Any, path: str) -> None:
        if not (isinstance(value, bool) or str(value).lower() in (
                "y", "n", "1", "0", "true", "false")):
            raise _fail("WRONG_FIELD_VALUE", path, "must be a boolean")

    @staticmethod
    def _number(value: Any, path: str) -> None:
        if isinstance(value, bool) or not re.fullmatch(r"-?[0-9]+", str(value)):
            raise _fail("WRONG_FIELD_VALUE", path, "must be an integer")

    @staticmethod
    def _anything(value: Any, path: str) -> None:
        """``actionParams``: an array of any format, passed on as it is."""

    @staticmethod
    def _enum(choices: tuple[str, ...]) -> Callable[[Any, str], None]:
        def check(value: Any, path: str) -> None:
            if str(value) not in choices:
                raise _fail("ENUM_FIELD", path, f"{value!r} is not one of {', '.join(choices)}")
        return check

    # parts --------------------------------------------------------------------
    def _icon(self, value: Any, path: str) -> None:
        self._object(value, path, {"code": self._string}, ("code",))

    def _header(self, value: Any, path: str) -> None:
        def tag(item: Any, where: str) -> None:
            self._object(item, where, {
                "title": self._text, "type": self._enum(TAG_TYPES), "action": self._action,
                "scope": self._enum(SCOPES), "hideIfReadonly": self._flag,
            }, ("title", "type"))
        self._object(value, path, {
            "title": self._text, "titleAction": self._action,
            "tags": lambda v, p: self._map(v, p, _MAX_TAGS, tag),
        }, ("title",))

    def _body(self, value: Any, path: str) -> None:
        def logo(item: Any, where: str) -> None:
            self._object(item, where, {"code": self._string, "action": self._action}, ("code",))
        self._object(value, path, {
            "logo": logo, "blocks": lambda v, p: self._map(v, p, _MAX_BLOCKS, self._block),
        }, ("logo",))

    def _footer(self, value: Any, path: str) -> None:
        def button(item: Any, where: str) -> None:
            self._object(item, where, {
                "title": self._text, "type": self._enum(BUTTON_TYPES), "action": self._action,
                "scope": self._enum(SCOPES), "hideIfReadonly": self._flag,
            }, ("title", "type", "action"))

        def menu_item(item: Any, where: str) -> None:
            self._object(item, where, {
                "title": self._text, "action": self._action, "scope": self._enum(SCOPES),
                "hideIfReadonly": self._flag,
            }, ("title", "action"))

        def menu(item: Any, where: str) -> None:
            self._object(item, where, {
                "showPinItem": self._flag, "showPostponeItem": self._flag,
                "showDeleteItem": self._flag,
                "items": lambda v, p: self._map(v, p, None, menu_item),
            })
        self._object(value, path, {
            "buttons": lambda v, p: self._map(v, p, _MAX_BUTTONS, button), "menu": menu,
        })

    def _action(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail("WRONG_FIELD_VALUE", path, "must be an object")
        kind = value.get("type")
        if kind in (None, ""):
            raise _fail("FIELD_IS_REQUIRED", f"{path}.type", "field is required")
        kinds: dict[str, tuple[dict[str, Callable[[Any, str], None]], tuple[str, ...]]] = {
            "redirect": ({"type": self._string, "uri": self._string}, ()),
            "restEvent": ({"type": self._string, "id": self._string,
                           "actionParams": self._anything,
                           "animationType": self._enum(("loader", "disable"))}, ("id",)),
            "openRestApp": ({"type": self._string, "actionParams": self._anything,
                             "sliderParams": self._slider}, ()),
        }
        if not isinstance(kind, str) or kind not in kinds:
            raise _fail("ENUM_FIELD", f"{path}.type",
                        f"{kind!r} is not one of {', '.join(kinds)}")
        fields, required = kinds[str(kind)]
        self._object(value, path, fields, required)

    def _slider(self, value: Any, path: str) -> None:
        self._object(value, path, {"width": self._number, "leftBoundary": self._number,
                                   "title": self._string})
        if "width" in value and "leftBoundary" in value:
            raise _fail("WRONG_FIELD_VALUE", path, "width and leftBoundary exclude each other")

    def _block(self, value: Any, path: str, allowed: tuple[str, ...] | None = None) -> None:
        if not isinstance(value, dict):
            raise _fail("WRONG_FIELD_VALUE", path, "must be an object")
        kind = value.get("type")
        if kind in (None, ""):
            raise _fail("FIELD_IS_REQUIRED", f"{path}.type", "field is required")
        scope = self._enum(SCOPES)
        kinds: dict[str, tuple[dict[str, Callable[[Any, str], None]], tuple[str, ...]]] = {
            "text": ({"value": self._text, "multiline": self._flag, "title": self._text,
                      "bold": self._flag, "size": self._enum(("xs", "sm", "md")),
                      "color": self._enum(("base_50", "base_60", "base_70", "base_90")),
                      "scope": scope}, ("value",)),
            "largeText": ({"value": self._text, "scope": scope}, ("value",)),
            "link": ({"text": self._text, "action": self._action, "bold": self._flag,
                      "scope": scope}, ("text", "action")),
            "withTitle": ({"title": self._text, "inline": self._flag, "scope": scope,
                           "block": lambda v, p: self._block(v, p, _INLINE_BLOCKS)},
                          ("title", "block")),
            "lineOfBlocks": ({"scope": scope, "blocks": lambda v, p: self._map(
                v, p, None, lambda b, q: self._block(b, q, _INLINE_BLOCKS))}, ("blocks",)),
            "deadline": ({"readonly": self._flag, "scope": scope}, ()),
        }
        choices = allowed or tuple(kinds)
        if not isinstance(kind, str) or kind not in choices:
            raise _fail("ENUM_FIELD", f"{path}.type",
                        f"{kind!r} is not one of {', '.join(choices)}")
        fields, required = kinds[str(kind)]
        self._object(value, path, {"type": self._string, "properties": lambda v, p:
                                   self._object(v, p, fields, required)},
                     ("properties",) if required else ())
