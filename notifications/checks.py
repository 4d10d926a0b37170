from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from notifications.channels import text_channels_available
from notifications.webhooks import email_esp, email_tracking_view

# Backends that accept a message and deliver it to nobody: fine on one machine, where the mail is read from
# var/mail or the console, but in production every notice would be marked sent and never arrive.
UNDELIVERED_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "anymail.backends.test.EmailBackend",
        "anymail.backends.console.EmailBackend",
    }
)
_TEXT_CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp"}


@register(Tags.security, deploy=True)
def notices_are_delivered(app_configs, **kwargs):
    """A deployment that cannot deliver notices must not start as if it could (docker-compose runs this
    check before the web server, the worker and beat)."""
    errors = []
    backend = settings.EMAIL_BACKEND
    if not backend or backend in UNDELIVERED_EMAIL_BACKENDS:
        errors.append(
            Error(
                f"Email notices would not be delivered: EMAIL_BACKEND is {backend or 'empty'!r}.",
                hint="Set EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend with the ESP's ANYMAIL_* keys, "
                "or django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST and its credentials.",
                id="notifications.E001",
            )
        )
    available = text_channels_available()
    for channel in settings.TEXT_CHANNELS:
        if channel not in available:
            name = _TEXT_CHANNEL_NAMES.get(channel, channel)
            errors.append(
                Error(
                    f"{name} is offered to participants, but no provider can send it.",
                    hint="Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                    f"{'TWILIO_WHATSAPP_FROM' if channel == 'whatsapp' else 'TWILIO_FROM_NUMBER'}, or "
                    "leave the channel out of TEXT_CHANNELS (TEXT_CHANNELS= offers email only).",
                    id="notifications.E002",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def anymail_webhooks_have_a_secret(app_configs, **kwargs):
    """The email service's tracking webhook is served only with WEBHOOK_SECRET (notifications.webhooks):
    without it bounces and deliveries are not recorded. With it, the ESP's own webhook settings must be
    complete, or every report would be a 500."""
    esp = email_esp()
    if esp is None or settings.EMAIL_BACKEND in UNDELIVERED_EMAIL_BACKENDS:
        return []
    if not get_anymail_setting("webhook_secret", default=None):
        return [
            Warning(
                "The email service's delivery reports are not received: no WEBHOOK_SECRET is set, so its "
                "tracking webhook is not served and bounces do not show under the participants.",
                hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and put the same credentials in the email "
                f"service's webhook URL (https://user:password@your-site/anymail/{esp}/tracking/).",
                id="notifications.W001",
            )
        ]
    view = email_tracking_view()
    if view is None:
        return []
    try:
        view.view_class(**view.view_initkwargs)
    except ImproperlyConfigured as exc:
        return [
            Error(
                f"The {esp} tracking webhook cannot check the reports it receives: {exc}",
                id="notifications.E003",
            )
        ]
    return []
