"""Who is asking, and ARGO's "authentication notice" for names it refuses
(docs/argo.md#identity, #the-authentication-notice).

ARGO has no secrets: the ANL username is the credential. A name it does not accept is
not an HTTP error but an HTTP 200 answer whose text is one of two notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .settings import SimulatorSettings

__all__ = [
    "DENIED_USER",
    "UNAUTHORIZED_USER",
    "auth_notice",
    "bearer",
    "body_user",
    "denial_variant",
]

DENIED_USER = "sim-denied"  # variant 1: the name is not a known ANL user
UNAUTHORIZED_USER = "sim-unauthorized"  # variant 2: known, but not on the division list


def auth_notice(user: str, variant: int) -> str:
    """The notice text ARGO answers with (where variant 1 puts its emoji is partly guessed)."""
    if variant == 2:
        return (
            "\n\n IMPORTANT AUTHENTICATION NOTICE FROM ARGO \n\n ACCESS DENIED \n\n"
            f"The username '{user}' is not authorized to use the Argo Gateway API. "
            "Your ANL account was found but you do not appear in the authorized users "
            "list for your division."
        )
    return (
        "\n\n\u26a0\ufe0f **IMPORTANT AUTHENTICATION NOTICE FROM ARGO** \u26a0\ufe0f\n\n"
        "\U0001f6ab **ACCESS DENIED** \U0001f6ab\n\n"
        f"The username '{user}' could not be validated as an authorized Argo Gateway API "
        "user. Please ensure you are providing a valid ANL domain user name in your API "
        "configuration.\n\n ** END NOTICE FROM ARGO **\n\n"
    )


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <user>` header, if any."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def body_user(body: Mapping[str, Any]) -> str | None:
    """The body's `user` field when it is a non-empty string."""
    user = body.get("user")
    return user if isinstance(user, str) and user else None


def denial_variant(user: str, settings: SimulatorSettings) -> int:
    """0 when `user` may use ARGO, else the notice variant (1 or 2) they get."""
    if user == DENIED_USER:
        return 1
    if user == UNAUTHORIZED_USER:
        return 2
    allowed = settings.users
    if allowed is not None and user not in allowed and user.lower() not in allowed:
        return 1
    return 0
