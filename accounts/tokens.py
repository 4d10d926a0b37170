"""The secrets of account links (an invitation, a new email address to confirm): derived with the secret
key when the email is written, never stored; the database keeps a hash to find the row by."""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings


def new_nonce() -> str:
    return secrets.token_hex(16)


def derived_token(purpose: str, nonce: str) -> str:
    """A 256-bit URL-safe token for `purpose` from a random nonce and the secret key."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_token(invitation) -> str:
    return derived_token("invitation", invitation.nonce)
