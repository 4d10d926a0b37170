from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from sessions_app.video import JitsiProvider
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

APP_ID = "consultations"
APP_SECRET = "jitsi-app-secret-for-tests-0123456789abcdef"


@pytest.fixture
def jitsi(settings):
    settings.JITSI_BASE_URL = "https://video.example.test"
    settings.JITSI_APP_ID = APP_ID
    settings.JITSI_APP_SECRET = APP_SECRET


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["jwt"][0]


@pytest.mark.parametrize(
    ("is_host", "name"), [(True, "Dr Ada Host"), (False, "Maria")], ids=["host", "guest"]
)
def test_jitsi_token_is_an_hs256_jwt_for_this_room_until_the_end(jitsi, host, is_host, name):
    session = SessionFactory(host=host)
    url = JitsiProvider().room_url(session=session, display_name=name, is_host=is_host)

    assert url.startswith(f"https://video.example.test/{session.video_room_name}?jwt=")
    token = _token(url)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    # The session starts tomorrow, and the token is not valid before its join window (nbf).
    claims = jwt.decode(
        token,
        APP_SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        issuer=APP_ID,
        options={"verify_nbf": False},
    )
    assert claims["room"] == session.video_room_name
    assert claims["sub"] == "video.example.test"
    assert claims["context"] == {"user": {"name": name, "moderator": is_host}}
    assert claims["exp"] == int(session.end_at.timestamp())


def test_without_jitsi_credentials_the_room_url_carries_no_token(settings, host):
    settings.JITSI_APP_ID, settings.JITSI_APP_SECRET = "", ""
    session = SessionFactory(host=host)
    url = JitsiProvider().room_url(session=session, display_name="Maria", is_host=False)
    assert "jwt" not in parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == f"/{session.video_room_name}"
