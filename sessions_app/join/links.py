"""Join links (DESIGN.md rule 5): derived, never stored.

token = base64url(public_id (16 bytes) || salted_hmac(salt, public_id || link_version, SHA-256)[:16])

The public id is random and the MAC is 128 bits, keyed by the secret key through Django's salted_hmac, so a
token cannot be forged or guessed. Bumping the participant's link_version, or removing the participant,
revokes every earlier link.

A new link is always made with SECRET_KEY; a link is accepted when its MAC matches SECRET_KEY or any key in
SECRET_KEY_FALLBACKS, so links already sent keep working while the key is rotated, and stop working once the
old key leaves the fallbacks.
"""

import base64
import hmac
import uuid

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from sessions_app.models import Participant

_MAC_BYTES = 16
_KEY_SALT = "consultations.join-link.v1"


def _mac(public_id: uuid.UUID, link_version: int, *, secret: str) -> bytes:
    message = public_id.bytes + link_version.to_bytes(8, "big")
    return salted_hmac(_KEY_SALT, message, secret=secret, algorithm="sha256").digest()[:_MAC_BYTES]


def join_token(participant: Participant) -> str:
    mac = _mac(participant.public_id, participant.link_version, secret=settings.SECRET_KEY)
    raw = participant.public_id.bytes + mac
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def join_url(participant: Participant) -> str:
    return settings.SITE_URL + reverse("join:enter", kwargs={"token": join_token(participant)})


def participant_by_public_id(public_id) -> Participant | None:
    """A participant still on their session; a removed participant has no way in."""
    return (
        Participant.objects.active()
        .select_related("session", "session__host")
        .filter(public_id=public_id)
        .first()
    )


def participant_for_token(token: str) -> Participant | None:
    """The participant a token belongs to, or None for an unknown, malformed or revoked token."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 16 + _MAC_BYTES:
        return None
    public_id = uuid.UUID(bytes=raw[:16])
    participant = participant_by_public_id(public_id)
    if participant is None:
        return None
    # Every key is tried (no early exit), so the time taken does not say which key, if any, matched.
    matches = [
        hmac.compare_digest(raw[16:], _mac(public_id, participant.link_version, secret=secret))
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]
    return participant if any(matches) else None
