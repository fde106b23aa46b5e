"""Per-portal bearer tokens for automations that call `POST /bitrix/tasks`.

A portal's token is an HMAC-SHA256 of its member_id under a key derived from
TASKBRIDGE_SECRET_KEY, so nothing is stored: `taskbridge task token --portal MEMBER_ID`
shows it, and changing the secret key revokes every token at once.
"""

from __future__ import annotations

import hashlib
import hmac

from connector.errors import SettingsError
from connector.settings import Settings

_PURPOSE = b"taskbridge automation tokens v1"


def automation_token(settings: Settings, member_id: str) -> str:
    """The bearer token automations of this portal present."""
    secret = settings.secret_key.get_secret_value()
    if not secret:
        raise SettingsError("TASKBRIDGE_SECRET_KEY is not set: automation tokens need it")
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, member_id.encode(), hashlib.sha256).hexdigest()


def token_matches(settings: Settings, member_id: str, candidate: str) -> bool:
    """Whether `candidate` is the portal's token, compared in constant time."""
    return hmac.compare_digest(automation_token(settings, member_id).encode(),
                               candidate.encode())
