"""The video engine behind the room page: we embed an existing engine; the provider says where its room is.

A provider is a class with `room_url(session, display_name, is_host) -> str`, named by VIDEO_PROVIDER.
"""

import json
import time

import jwt
from django.conf import settings
from django.utils.http import urlencode
from django.utils.module_loading import import_string


class JitsiProvider:
    """Jitsi Meet. With JITSI_APP_ID and JITSI_APP_SECRET set, the room URL carries a short-lived JWT that the
    Jitsi deployment verifies (its token authentication), so only people we let in can open the room."""

    def room_url(self, *, session, display_name: str, is_host: bool) -> str:
        url = f"{settings.JITSI_BASE_URL}/{session.video_room_name}"
        if settings.JITSI_APP_ID and settings.JITSI_APP_SECRET:
            url += "?" + urlencode({"jwt": self._token(session, display_name, is_host)})
        return url + "#" + urlencode({"userInfo.displayName": json.dumps(display_name)})

    def _token(self, session, display_name: str, is_host: bool) -> str:
        claims = {
            "aud": "jitsi",
            "iss": settings.JITSI_APP_ID,
            "sub": "*",
            "room": session.video_room_name,
            "exp": int(session.end_at.timestamp()) + 3600,
            "nbf": int(time.time()) - 60,
            "context": {"user": {"name": display_name, "moderator": is_host}},
        }
        return jwt.encode(claims, settings.JITSI_APP_SECRET, algorithm="HS256")


def video_provider():
    return import_string(settings.VIDEO_PROVIDER)()
