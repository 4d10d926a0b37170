"""Providers that carry a notice: email through Django's mail backend (anymail when an ESP is configured),
SMS and WhatsApp through Twilio's REST client, or the local file provider when Twilio has no keys.

A provider returns the provider's message id, raises TransientDeliveryError for what may pass (network,
time-out, HTTP 429 and 5xx) and PermanentDeliveryError for what will not (a refused address, an opt-out).
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class TransientDeliveryError(Exception):
    pass


class PermanentDeliveryError(Exception):
    pass


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    # The display name of the From (the organisation's sender name); the address is always ours.
    sender_name: str = ""


def from_header(sender_name: str) -> str:
    """ "Sender Name <address of DEFAULT_FROM_EMAIL>": an organisation signs its notices with its own name,
    while the address stays the one our email service may send from (and the one SPF and DKIM vouch for).
    Address quotes the name where it needs it and Django's mail encodes it for the header; the service
    refused line breaks in it when it was saved, and any left are folded to spaces here."""
    default_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = " ".join(sender_name.split()) or default_name
    return str(Address(display_name=name, addr_spec=address)) if name else address


def send_email(message: EmailMessage) -> str:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=from_header(message.sender_name),
        to=[message.to],
    )
    email.attach_alternative(message.html, "text/html")
    for attachment in message.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    try:
        email.send(fail_silently=False)
    except AnymailRecipientsRefused as exc:
        raise PermanentDeliveryError(f"The email address was refused: {exc}") from exc
    except AnymailAPIError as exc:
        status = getattr(exc, "status_code", None)
        if status is not None and status < 500 and status != 429:
            raise PermanentDeliveryError(f"The email service rejected the message: {exc}") from exc
        raise TransientDeliveryError(f"The email service did not accept the message yet: {exc}") from exc
    except (OSError, requests.RequestException) as exc:
        raise TransientDeliveryError(f"Could not reach the email service: {exc}") from exc
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return f"local-{uuid.uuid4().hex}"


class _EdgeHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, pointed at another base URL (a local fake in tests)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        # Every Twilio host (api., messaging., and the edge/region forms api.<edge>.<region>.) goes to the
        # configured base URL, so a test can never reach the real service.
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith(".twilio.com"):
            url = self.base_url + urlunsplit(("", "", parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


# One client per thread, kept: its HTTP session keeps the connection to Twilio open between messages instead
# of a new TCP and TLS handshake per message. Per thread, because a requests session is not thread-safe and
# a worker of the threads pool (docker-compose.yml) sends from many threads at once, each thread a batch of
# notices one after the other (notifications.services.notices_deliver).
_clients = threading.local()


def twilio_client() -> Client:
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.PROVIDER_TIMEOUT_SECONDS,
    )
    cached = getattr(_clients, "twilio", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    kwargs = {"timeout": settings.PROVIDER_TIMEOUT_SECONDS}
    if settings.TWILIO_API_BASE_URL:
        http_client = _EdgeHttpClient(settings.TWILIO_API_BASE_URL, **kwargs)
    else:
        http_client = TwilioHttpClient(**kwargs)
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
    _clients.twilio = (key, client)
    return client


# Twilio error codes that no retry will fix: invalid or unreachable numbers, opt-outs, unsupported regions.
_PERMANENT_TWILIO_CODES = {21211, 21214, 21407, 21408, 21610, 21612, 21614, 63003, 63016}


def _send_twilio(*, to: str, body: str, whatsapp: bool) -> str:
    sender = settings.TWILIO_WHATSAPP_FROM if whatsapp else settings.TWILIO_FROM_NUMBER
    if whatsapp:
        to, sender = f"whatsapp:{to}", f"whatsapp:{sender}"
    options = {}
    if settings.SITE_URL.startswith("https://"):
        # Twilio can only call back a public site; the development default (http://127.0.0.1:8000) is not.
        options["status_callback"] = settings.SITE_URL + reverse("notifications:twilio_status")
    try:
        message = twilio_client().messages.create(to=to, from_=sender, body=body, **options)
    except (TwilioRestException, TwilioServiceException) as exc:
        # Twilio answers in two error shapes (the classic one and RFC 9457 problem details); both carry
        # the HTTP status and Twilio's error code, which decide whether a retry can help.
        message = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
        if exc.code in _PERMANENT_TWILIO_CODES or (400 <= exc.status < 500 and exc.status != 429):
            raise PermanentDeliveryError(f"Twilio refused the message ({exc.code}): {message}") from exc
        raise TransientDeliveryError(
            f"Twilio did not accept the message yet ({exc.status}): {message}"
        ) from exc
    except requests.RequestException as exc:
        raise TransientDeliveryError(f"Could not reach Twilio: {exc}") from exc
    return message.sid


def _send_file(*, to: str, body: str, channel: str) -> str:
    message_id = f"local-{uuid.uuid4().hex}"
    folder = Path(settings.SMS_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"id": message_id, "channel": channel, "to": to, "body": body, "at": timezone.now().isoformat()}
    (folder / f"{timezone.now():%Y%m%dT%H%M%S}-{message_id}.json").write_text(json.dumps(record, indent=2))
    return message_id


def _text_provider(channel: str) -> str | None:
    """What carries a text message on this channel: "twilio", "file" or None. With Twilio's keys set it is
    Twilio, and only for a channel that has its sending number; without them the local file provider, and
    only where the settings allow it (not in production, where a file on the server reaches nobody)."""
    if settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        sender = settings.TWILIO_WHATSAPP_FROM if channel == "whatsapp" else settings.TWILIO_FROM_NUMBER
        return "twilio" if sender else None
    return "file" if settings.TEXT_FILE_PROVIDER else None


def text_channels_available() -> frozenset[str]:
    """The text channels ("sms", "whatsapp") a participant may choose: those the site offers (TEXT_CHANNELS)
    that a provider can carry. The forms, the services' validation and the deploy check all ask here."""
    return frozenset(channel for channel in settings.TEXT_CHANNELS if _text_provider(channel) is not None)


def send_text(*, channel: str, to: str, body: str) -> str:
    provider = _text_provider(channel)
    if provider == "twilio":
        return _send_twilio(to=to, body=body, whatsapp=channel == "whatsapp")
    if provider == "file":
        return _send_file(to=to, body=body, channel=channel)
    name = {"sms": "SMS", "whatsapp": "WhatsApp"}.get(channel, channel)
    raise PermanentDeliveryError(f"This site cannot send {name} messages (no provider is set up); use email.")
