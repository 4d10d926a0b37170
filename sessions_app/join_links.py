"""Join links (DESIGN.md rule 5): derived, never stored.

token = base64url(public_id (16 bytes) || HMAC-SHA256(key, public_id || link_version)[:16])

The public id is random and the MAC is 128 bits, keyed by SECRET_KEY, so a token cannot be forged or
guessed. Bumping the participant's link_version, or removing the participant, revokes every earlier link.
"""

import base64
import hashlib
import hmac
import uuid

from django.conf import settings
from django.urls import reverse

from sessions_app.models import Participant

_MAC_BYTES = 16
_CONTEXT = b"consultations.join-link.v1"


def _mac(public_id: uuid.UUID, link_version: int) -> bytes:
    key = hashlib.sha256(_CONTEXT + settings.SECRET_KEY.encode()).digest()
    message = public_id.bytes + link_version.to_bytes(8, "big")
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def join_token(participant: Participant) -> str:
    raw = participant.public_id.bytes + _mac(participant.public_id, participant.link_version)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def join_url(participant: Participant) -> str:
    return settings.SITE_URL + reverse("join:enter", kwargs={"token": join_token(participant)})


def participant_by_public_id(public_id) -> Participant | None:
    """A participant still on their session; a removed participant has no way in."""
    return (
        Participant.objects.select_related("session", "session__host")
        .filter(public_id=public_id, removed_at__isnull=True)
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
    if not hmac.compare_digest(raw[16:], _mac(public_id, participant.link_version)):
        return None
    return participant
