"""Errors raised by the mappers.

```
ValidationError(ValueError)      input from the portal cannot be understood
├── FormError                    a PHP-bracket form broke a rule or a limit
│   ├── MalformedKeyError        a key is not ``name`` or ``name[a][b]...``
│   ├── ConflictingKeyError      one key is both a value and a container, or repeats
│   ├── TooManyKeysError         more pairs than ``max_keys``
│   ├── TooDeepError             more bracket levels than ``max_depth``
│   └── KeyTooLongError          a key longer than ``max_key_length``
├── BindingCodeError             an ``UF_CRM_TASK`` code such as ``D_12`` is unreadable
├── InvalidIdError               an id in a request is not 1-18 ASCII digits
├── SnapshotError                a task or CRM item answer has the wrong shape
└── LabelsError                  a language registration lacks labels
```

Parsers raise only these; foreign errors are translated with ``raise ... from``.
Messages quote input only as a short ``excerpt``: they reach HTTP answers and logs.
"""

from __future__ import annotations

EXCERPT_CHARS = 32


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of untrusted text, quoted, control characters escaped."""
    shown = repr(text[:limit])
    return f"{shown}... ({len(text)} chars)" if len(text) > limit else shown


class ValidationError(ValueError):
    """Root of every error the mappers raise for input they cannot understand."""


class FormError(ValidationError):
    """A PHP-bracket form could not be parsed."""


class MalformedKeyError(FormError):
    """A form key is not of the shape ``name`` or ``name[a][b]``."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"malformed form key {excerpt(key)}: {why}")
        self.key = key


class ConflictingKeyError(FormError):
    """A form key is set twice, or is both a value and a container."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"conflicting form key {excerpt(key)}: {why}")
        self.key = key


class TooManyKeysError(FormError):
    """The form holds more pairs than the ``max_keys`` limit."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"form has {count} keys or more, over the max_keys limit of {limit}")
        self.limit = limit


class TooDeepError(FormError):
    """A form key nests deeper than the ``max_depth`` limit."""

    def __init__(self, key: str, depth: int, limit: int) -> None:
        super().__init__(
            f"form key {excerpt(key)} nests {depth} levels, over the max_depth limit of {limit}"
        )
        self.key = key
        self.limit = limit


class KeyTooLongError(FormError):
    """A form key is longer than the ``max_key_length`` limit."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(
            f"form key {excerpt(key)} is over the max_key_length limit of {limit} characters"
        )
        self.key = key
        self.limit = limit


class BindingCodeError(ValidationError):
    """A CRM binding code (``UF_CRM_TASK`` entry) could not be read."""

    def __init__(self, code: object, why: str) -> None:
        super().__init__(f"bad CRM binding code {code!r}: {why}")
        self.code = code


class InvalidIdError(ValidationError):
    """An id from a request is not a positive integer of at most 18 ASCII digits."""

    def __init__(self, name: str, value: object) -> None:
        shown = excerpt(value, 24) if isinstance(value, str) else repr(type(value).__name__)
        super().__init__(f"{name}: expected an id (1 to 18 ASCII digits), got {shown}")
        self.name = name


class SnapshotError(ValidationError):
    """A task or CRM item answer from the portal has the wrong shape."""


class LabelsError(ValidationError):
    """Labels registered for a language are incomplete or empty."""
