"""The made-up portal and OAuth server the REST modules' own tests talk to (through
`responses`), and the OAuth server's answer to a refresh."""

from __future__ import annotations

from typing import Any

MEMBER_ID = "member-under-test"
DOMAIN = "portal.example.com"
ENDPOINT = f"https://{DOMAIN}/rest/"
OAUTH_URL = "https://oauth.example.com"
TOKEN_URL = f"{OAUTH_URL}/oauth/token/"
ACCESS = "access-0"
REFRESH = "refresh-0"


def grant(access: str, refresh: str, member_id: str = MEMBER_ID) -> dict[str, Any]:
    """The OAuth server's answer to a refresh: a new pair for `member_id`."""
    return {
        "access_token": access, "refresh_token": refresh, "expires_in": 3600,
        "member_id": member_id, "domain": DOMAIN, "client_endpoint": ENDPOINT,
        "server_endpoint": f"{OAUTH_URL}/rest/", "scope": "crm,task,user", "user_id": 1,
    }
