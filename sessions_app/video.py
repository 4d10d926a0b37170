"""The video engine behind the room page: we embed an existing engine; the provider says where its room is.

A provider is a class with `room_url(session, display_name, is_host) -> str`, named by VIDEO_PROVIDER.
"""

import json
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.utils.http import urlencode
from django.utils.module_loading import import_string

# Jitsi's clock and ours may disagree by a little; a token that only became valid at the very second the
# window opened could be refused by a server running slightly behind.
_CLOCK_LEEWAY = timedelta(minutes=5)


class JitsiProvider:
    """Jitsi Meet. With JITSI_APP_ID and JITSI_APP_SECRET set, the room URL carries a JWT of its own for each
    person, which the Jitsi deployment verifies (its token authentication): it names that person, is good
    for this room name only and expires at the session's end, so a room URL kept after a removal (which
    renames the room) or after the end lets nobody in. Without them the room name is the only key."""

    def room_url(self, *, session, display_name: str, is_host: bool) -> str:
        url = f"{settings.JITSI_BASE_URL}/{session.video_room_name}"
        if settings.JITSI_APP_ID and settings.JITSI_APP_SECRET:
            url += "?" + urlencode({"jwt": self._token(session, display_name, is_host)})
        return url + "#" + urlencode({"userInfo.displayName": json.dumps(display_name)})

    def _token(self, session, display_name: str, is_host: bool) -> str:
        # The host's room page is served only after session_connect let them in (it keeps the host's own,
        # earlier window); a participant's from the join window on.
        if is_host and session.host_connected_at is not None:
            opens_at = session.host_connected_at
        else:
            opens_at = session.join_opens_at
        claims = {
            "aud": "jitsi",
            "iss": settings.JITSI_APP_ID,
            "sub": urlsplit(settings.JITSI_BASE_URL).hostname,
            "room": session.video_room_name,
            "nbf": int((opens_at - _CLOCK_LEEWAY).timestamp()),
            "exp": int(session.end_at.timestamp()),
            "context": {"user": {"name": display_name, "moderator": is_host}},
        }
        return jwt.encode(claims, settings.JITSI_APP_SECRET, algorithm="HS256")


def video_provider():
    return import_string(settings.VIDEO_PROVIDER)()
