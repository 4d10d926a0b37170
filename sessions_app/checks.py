"""System checks of the sessions app that only matter for a deployment (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.module_loading import import_string

from sessions_app.video import JitsiProvider


@register(Tags.security, deploy=True)
def check_video_room_tokens(app_configs, **kwargs):
    """Jitsi without its token authentication lets in anyone who has the room's URL, for as long as the
    room's name stays the same: a participant who kept it after the end, or a link forwarded once."""
    if not issubclass(import_string(settings.VIDEO_PROVIDER), JitsiProvider):
        return []
    if settings.JITSI_APP_ID and settings.JITSI_APP_SECRET:
        return []
    return [
        Warning(
            "The video rooms carry no room token: anyone who has a room's URL can enter it.",
            hint=(
                "Set JITSI_APP_ID and JITSI_APP_SECRET to the app id and secret of a Jitsi deployment with "
                "token authentication, so each person's room URL carries a token for that room that "
                "expires at the session's end."
            ),
            id="sessions_app.W001",
        )
    ]
