from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def anymail_webhooks_have_a_secret(app_configs, **kwargs):
    """Without WEBHOOK_SECRET, anymail accepts tracking webhooks from anyone (it only warns per request),
    and a forged "bounced" event would mark notices failed. Only matters once a real ESP sends the mail."""
    backend = settings.EMAIL_BACKEND
    if not backend.startswith("anymail.backends.") or backend.startswith("anymail.backends.test."):
        return []
    if get_anymail_setting("webhook_secret", default=None):
        return []
    return [
        Warning(
            "Anymail's tracking webhooks are open to anyone: no WEBHOOK_SECRET is set.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and put the same credentials in the email "
            "service's webhook URL (https://user:password@your-site/anymail/<esp>/tracking/).",
            id="notifications.W001",
        )
    ]
