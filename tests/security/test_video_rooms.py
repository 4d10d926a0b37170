"""The video room must not outlive the link that leads to it (issue 8, item 7).

Without room tokens a Jitsi room lets in whoever has its URL, so the room is renamed when a participant is
removed and its page is served only through a valid link inside the window. With JITSI_APP_ID and
JITSI_APP_SECRET each person's room URL carries their own token, for this room name and until the end.
"""

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine
from django.core.checks import Tags, run_checks
from django.test import Client
from django.urls import reverse

from sessions_app.join.links import join_token
from sessions_app.services import participant_remove
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
APP_ID = "consultations"
APP_SECRET = "jitsi-app-secret-for-tests-0123456789abcdef"


@pytest.fixture
def session(host):
    return SessionFactory(host=host, start_at=START, duration_minutes=50, title="Therapy")


# Both were let in by the host: their lobby leads into the room (the waiting room is tested on its own).
@pytest.fixture
def maria(session):
    return ParticipantFactory(session=session, name="Maria", waiting_since=START, admitted_at=START)


@pytest.fixture
def tom(session):
    return ParticipantFactory(session=session, name="Tom", waiting_since=START, admitted_at=START)


@pytest.fixture
def jitsi(settings):
    settings.JITSI_BASE_URL = "https://video.example.test"
    settings.JITSI_APP_ID = APP_ID
    settings.JITSI_APP_SECRET = APP_SECRET


@pytest.fixture
def no_room_tokens(settings):
    settings.JITSI_BASE_URL = "https://video.example.test"
    settings.JITSI_APP_ID = settings.JITSI_APP_SECRET = ""


def _visit(client, participant):
    """Follow the participant's link (token for cookie), then open the lobby (and the room it leads to)."""
    response = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    assert response.status_code == 302
    return client.get(response["Location"], follow=True)


def _room_src(response) -> str:
    found = re.search(r'id="video-room" src="([^"]+)"', response.content.decode())
    assert found, "no video room on the page"
    return html.unescape(found[1])


def _room_name(src: str) -> str:
    return urlsplit(src).path.lstrip("/")


def _claims(src: str) -> dict:
    token = parse_qs(urlsplit(src).query)["jwt"][0]
    return jwt.decode(token, APP_SECRET, algorithms=["HS256"], audience="jitsi", issuer=APP_ID)


def _host_room(client, host, session):
    client.force_login(host)
    assert client.post(reverse("sessions:connect", kwargs={"pk": session.pk})).status_code == 302
    response = client.get(reverse("sessions:video_room", kwargs={"pk": session.pk}))
    assert response.status_code == 200
    return response


# Removal renames the room -----------------------------------------------------------------------------------


def test_removing_a_participant_gives_the_session_a_new_random_room_name(host, session, maria, tom):
    names = [session.video_room_name]
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        for participant in (maria, tom):
            participant_remove(actor=host, participant=participant)
            session.refresh_from_db()
            names.append(session.video_room_name)
    assert len(set(names)) == 3
    # 128 random bits each time, nothing derived from the session (its id, uid or title).
    for name in names[1:]:
        assert re.fullmatch(r"session-[0-9a-f]{32}", name)
        assert str(session.uid).replace("-", "") not in name


def test_after_a_removal_everyone_is_sent_to_the_new_room_and_nobody_to_the_old(
    client, host, session, maria, tom, no_room_tokens
):
    maria_client, tom_client = Client(), Client()
    with time_machine.travel(START, tick=False):
        old = _room_name(_room_src(_visit(maria_client, maria)))
        assert old == session.video_room_name
        assert _room_name(_room_src(_visit(tom_client, tom))) == old

        participant_remove(actor=host, participant=maria)
        session.refresh_from_db()
        new = session.video_room_name

        # Tom's link (and the cookie he already holds) leads to the renamed room.
        assert _room_name(_room_src(tom_client.get(reverse("join:lobby"), follow=True))) == new
        assert _room_name(_room_src(_visit(Client(), tom))) == new
        # So does the host's room page.
        host_page = _host_room(client, host, session)
        assert _room_name(_room_src(host_page)) == new
        for page in (host_page, tom_client.get(reverse("join:lobby"), follow=True)):
            assert old not in page.content.decode()
        # Maria's link and her cookie are dead: she is sent nowhere.
        assert maria_client.get(reverse("join:lobby")).status_code == 404
        token = join_token(maria)
        assert Client().get(reverse("join:enter", kwargs={"token": token})).status_code == 404


# The room page only while the link is valid -----------------------------------------------------------------


def test_the_room_page_is_a_404_for_a_removed_participant_who_kept_the_cookie(client, host, maria, tom):
    with time_machine.travel(START, tick=False):
        assert "sessions_app/video_room.html" in [t.name for t in _visit(client, maria).templates]
        participant_remove(actor=host, participant=maria)
        response = client.get(reverse("join:lobby"))
    assert response.status_code == 404
    assert maria.session.video_room_name not in response.content.decode()


@pytest.mark.parametrize("after", [timedelta(0), timedelta(hours=3)], ids=["at-the-end", "later"])
def test_the_room_page_is_not_served_once_the_session_has_ended(client, session, maria, after):
    with time_machine.travel(START, tick=False):
        _visit(client, maria)
    with time_machine.travel(session.end_at + after, tick=False):
        response = client.get(reverse("join:lobby"))
        fresh = _visit(Client(), maria)
    for page in (response, fresh):
        assert page.status_code == 200
        names = [t.name for t in page.templates]
        assert "join/ended.html" in names and "sessions_app/video_room.html" not in names
        assert session.video_room_name not in page.content.decode()


def test_the_hosts_room_page_is_not_served_once_the_session_has_ended(client, host, session):
    with time_machine.travel(START, tick=False):
        _host_room(client, host, session)
    with time_machine.travel(session.end_at, tick=False):
        response = client.get(reverse("sessions:video_room", kwargs={"pk": session.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:detail", kwargs={"pk": session.pk})


# Room tokens ------------------------------------------------------------------------------------------------


def test_each_participant_gets_a_token_of_their_own_for_this_room_until_the_end(
    client, session, maria, tom, jitsi
):
    with time_machine.travel(START, tick=False):
        maria_src, tom_src = _room_src(_visit(Client(), maria)), _room_src(_visit(Client(), tom))
        maria_claims, tom_claims = _claims(maria_src), _claims(tom_src)
    assert maria_src != tom_src
    assert maria_claims["context"]["user"] == {"name": "Maria", "moderator": False}
    assert tom_claims["context"]["user"] == {"name": "Tom", "moderator": False}
    for claims in (maria_claims, tom_claims):
        assert claims["room"] == session.video_room_name
        assert claims["exp"] == int(session.end_at.timestamp())
        assert claims["sub"] == "video.example.test"
        # Valid from a few minutes before the join window opens (5 minutes before the start), not earlier.
        opens = START - timedelta(minutes=5)
        assert opens - timedelta(minutes=10) <= datetime.fromtimestamp(claims["nbf"], UTC) < opens


def test_the_hosts_token_names_them_and_makes_them_moderator(client, host, session, jitsi):
    with time_machine.travel(START - timedelta(minutes=10), tick=False):
        claims = _claims(_room_src(_host_room(client, host, session)))
    assert claims["context"]["user"] == {"name": host.full_name, "moderator": True}
    assert claims["room"] == session.video_room_name
    assert claims["exp"] == int(session.end_at.timestamp())
    assert claims["aud"] == "jitsi" and claims["iss"] == APP_ID


def test_a_removed_participants_token_no_longer_fits_the_room(client, host, session, maria, tom, jitsi):
    with time_machine.travel(START, tick=False):
        kept = _claims(_room_src(_visit(client, maria)))
        participant_remove(actor=host, participant=maria)
    session.refresh_from_db()
    assert kept["room"] != session.video_room_name


def test_a_token_is_refused_after_the_end(client, session, maria, jitsi):
    with time_machine.travel(START, tick=False):
        src = _room_src(_visit(client, maria))
    with (
        time_machine.travel(session.end_at + timedelta(seconds=1), tick=False),
        pytest.raises(jwt.ExpiredSignatureError),
    ):
        _claims(src)


# The deploy check -------------------------------------------------------------------------------------------


def _deploy_warnings() -> set[str]:
    return {m.id for m in run_checks(tags=[Tags.security], include_deployment_checks=True)}


@pytest.mark.parametrize(
    ("app_id", "secret"),
    [("", ""), ("consultations", ""), ("", APP_SECRET)],
    ids=["none", "no-secret", "no-id"],
)
def test_check_deploy_warns_when_rooms_carry_no_token(settings, app_id, secret):
    settings.JITSI_APP_ID, settings.JITSI_APP_SECRET = app_id, secret
    assert "sessions_app.W001" in _deploy_warnings()


def test_check_deploy_is_quiet_about_rooms_with_tokens(settings, jitsi):
    assert "sessions_app.W001" not in _deploy_warnings()


def test_the_room_token_check_runs_only_with_deploy(settings):
    settings.JITSI_APP_ID = settings.JITSI_APP_SECRET = ""
    assert "sessions_app.W001" not in {m.id for m in run_checks(tags=[Tags.security])}
