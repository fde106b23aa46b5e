"""Errors the emulated portal answers with.

``EmulatorError`` is the root. ``RestError`` is what a REST method raises; it carries
the portal's error code, description and HTTP status, and the WSGI layer turns it into
``{"error", "error_description"}``. ``OAuthError`` is the OAuth server's equivalent.
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Root of every error raised by the emulator."""


class RestError(EmulatorError):
    """A REST method failed the way a portal reports it."""

    def __init__(self, code: str, description: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.status = status


class NotFound(RestError):
    """The object named by the call does not exist."""

    def __init__(self, description: str = "Not found") -> None:
        super().__init__("NOT_FOUND", description, 400)


class InvalidArgument(RestError):
    """A parameter is missing or has the wrong shape."""

    def __init__(self, description: str) -> None:
        super().__init__("INVALID_ARG_VALUE", description, 400)


class AccessDenied(RestError):
    """The calling user may not do this."""

    def __init__(self, description: str = "Access denied.") -> None:
        super().__init__("ACCESS_DENIED", description, 403)


class WrongAuthType(RestError):
    """The method needs an application (OAuth) context."""

    def __init__(self) -> None:
        super().__init__(
            "WRONG_AUTH_TYPE", "Current authorization type is denied for this method", 403
        )


class OAuthError(EmulatorError):
    """The OAuth server refused a token request."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.description = description
        self.status = status
