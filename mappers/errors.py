"""Errors raised by the mappers.

```
ValidationError(ValueError)      input from the portal cannot be understood
├── FormError                    a PHP-bracket form broke a rule or a limit
│   ├── MalformedKeyError        a key is not ``name`` or ``name[a][b]...``
│   ├── ConflictingKeyError      one key is both a value and a container, or repeats
│   ├── TooManyKeysError         more pairs than ``max_keys``
│   └── TooDeepError             more bracket levels than ``max_depth``
├── BindingCodeError             an ``UF_CRM_TASK`` code such as ``D_12`` is unreadable
├── InvalidIdError               an id in a request is not 1-18 ASCII digits
├── SnapshotError                a task or CRM item answer has the wrong shape
└── LabelsError                  a language registration lacks labels
```

Parsers raise only these; foreign errors are translated with ``raise ... from``.
"""

from __future__ import annotations


class ValidationError(ValueError):
    """Root of every error the mappers raise for input they cannot understand."""


class FormError(ValidationError):
    """A PHP-bracket form could not be parsed."""


class MalformedKeyError(FormError):
    """A form key is not of the shape ``name`` or ``name[a][b]``."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"malformed form key {key!r}: {why}")
        self.key = key


class ConflictingKeyError(FormError):
    """A form key is set twice, or is both a value and a container."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"conflicting form key {key!r}: {why}")
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
            f"form key {key!r} nests {depth} levels, over the max_depth limit of {limit}"
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
        shown = value[:24] if isinstance(value, str) else type(value).__name__
        super().__init__(f"{name}: expected an id (1 to 18 ASCII digits), got {shown!r}")
        self.name = name


class SnapshotError(ValidationError):
    """A task or CRM item answer from the portal has the wrong shape."""


class LabelsError(ValidationError):
    """Labels registered for a language are incomplete or empty."""
