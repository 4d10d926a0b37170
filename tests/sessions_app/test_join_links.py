import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent
from sessions_app.join.links import join_token, participant_for_token
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def participant(host):
    session = SessionFactory(host=host, start_at=START, duration_minutes=50, title="Therapy")
    return ParticipantFactory(session=session, name="Maria", time_zone="Europe/Madrid")


def _visit(client, participant):
    """Follow the link as a participant: the token is traded for a cookie, then the lobby answers."""
    response = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    assert response.status_code == 302
    assert response["Location"] == reverse("join:lobby")
    assert response["Referrer-Policy"] == "no-referrer"
    return client.get(response["Location"])


def test_token_carries_at_least_128_bits_and_resolves(participant):
    token = join_token(participant)
    assert len(token) >= 43  # 32 bytes of base64url: a 128-bit public id and a 128-bit MAC
    assert participant_for_token(token) == participant


def test_tampered_or_unknown_token_is_a_plain_404(client, participant):
    token = join_token(participant)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert participant_for_token(tampered) is None
    for bad in (tampered, "not-a-token-at-all-xxxxxxxx", "A" * 43):
        assert client.get(f"/join/{bad}/").status_code == 404


def test_bumping_the_link_version_revokes_the_link_and_the_cookie(client, participant):
    token = join_token(participant)
    with time_machine.travel(START, tick=False):
        assert _visit(client, participant).status_code == 200
        participant.link_version += 1
        participant.save(update_fields=["link_version"])
        assert client.get(f"/join/{token}/").status_code == 404
        assert client.get(reverse("join:lobby")).status_code == 404


KEY_A = "rotation-test-key-a-0123456789abcdefghijklmnopqrstuvwxyz"
KEY_B = "rotation-test-key-b-0123456789abcdefghijklmnopqrstuvwxyz"


def test_link_sent_before_a_key_rotation_still_opens_while_the_old_key_is_a_fallback(
    client, participant, settings
):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    token = join_token(participant)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_B, [KEY_A]
    assert participant_for_token(token) == participant
    with time_machine.travel(START, tick=False):
        response = client.get(reverse("join:enter", kwargs={"token": token}))
        assert response.status_code == 302
        assert response["Location"] == reverse("join:lobby")
        assert settings.JOIN_COOKIE_NAME in response.cookies
        assert client.get(reverse("join:lobby")).status_code == 200


def test_join_cookie_given_before_a_key_rotation_still_opens_the_lobby(client, participant, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    with time_machine.travel(START, tick=False):
        assert _visit(client, participant).status_code == 200
        settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_B, [KEY_A]
        assert client.get(reverse("join:lobby")).status_code == 200
        settings.SECRET_KEY_FALLBACKS = []
        assert client.get(reverse("join:lobby")).status_code == 404


def test_link_made_with_a_key_dropped_from_the_fallbacks_is_a_404(client, participant, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    token = join_token(participant)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_B, []
    assert participant_for_token(token) is None
    assert client.get(reverse("join:enter", kwargs={"token": token})).status_code == 404


def test_link_made_after_a_key_rotation_is_signed_with_the_new_key(participant, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    old_token = join_token(participant)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_B, [KEY_A]
    new_token = join_token(participant)
    assert new_token != old_token
    # Same participant, same public id: only the MAC changed.
    assert new_token[:21] == old_token[:21]
    settings.SECRET_KEY_FALLBACKS = []
    assert participant_for_token(new_token) == participant


def test_links_sent_before_the_move_to_salted_hmac_still_open(participant, settings):
    # The MAC used to be computed by hand as HMAC-SHA256(SHA-256(salt + SECRET_KEY), message); salted_hmac
    # derives its key the same way, so links already in participants' mailboxes stay valid.
    key = hashlib.sha256(b"consultations.join-link.v1" + settings.SECRET_KEY.encode()).digest()
    message = participant.public_id.bytes + participant.link_version.to_bytes(8, "big")
    legacy_mac = hmac.new(key, message, hashlib.sha256).digest()[:16]
    legacy_token = base64.urlsafe_b64encode(participant.public_id.bytes + legacy_mac).rstrip(b"=").decode()
    assert join_token(participant) == legacy_token


def test_removed_participant_link_is_a_404(client, participant):
    token = join_token(participant)
    participant.delete()
    assert client.get(f"/join/{token}/").status_code == 404


def test_lobby_without_cookie_is_a_404(client):
    assert client.get(reverse("join:lobby")).status_code == 404


@pytest.mark.parametrize(
    ("moment", "template"),
    [
        (START - timedelta(minutes=5, seconds=1), "join/not_open.html"),
        (START - timedelta(minutes=5), "join/waiting_room.html"),
        (START + timedelta(minutes=20), "join/waiting_room.html"),
        (START + timedelta(minutes=49, seconds=59), "join/waiting_room.html"),
        (START + timedelta(minutes=50), "join/ended.html"),
    ],
    ids=["before", "at-minus-5-minutes", "during", "last-second", "after-end"],
)
def test_join_window_opens_five_minutes_before_and_closes_at_the_end(client, participant, moment, template):
    with time_machine.travel(moment, tick=False):
        response = _visit(client, participant)
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]
    # The page before the window holds the participant's answers, forms that post: same-origin, or the
    # browser's "Origin: null" fails CSRF (sessions_app.join.views._not_open). Its address holds no token.
    expected = "same-origin" if template == "join/not_open.html" else "no-referrer"
    assert response["Referrer-Policy"] == expected


def test_before_the_window_the_page_says_when_it_opens_in_the_participant_zone(client, participant):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        content = _visit(client, participant).content.decode()
    # 14:00 UTC is 15:00 in Madrid (CET); the room opens at 14:55.
    assert "Tuesday 1 December 2026, 15:00 CET (Europe/Madrid)" in content
    assert "14:55 CET" in content


def test_window_across_a_dst_change_is_shown_in_the_new_offset(client, host):
    # US clocks go forward on 14 March 2027: 15:00 UTC is 10:00 EST the day before, 11:00 EDT that day.
    session = SessionFactory(host=host, start_at=datetime(2027, 3, 14, 15, 0, tzinfo=UTC))
    participant = ParticipantFactory(session=session, time_zone="America/New_York")
    with time_machine.travel(datetime(2027, 3, 13, 15, 0, tzinfo=UTC), tick=False):
        content = _visit(client, participant).content.decode()
    assert "Sunday 14 March 2027, 11:00 EDT (America/New York)" in content
    with time_machine.travel(datetime(2027, 3, 14, 14, 55, tzinfo=UTC), tick=False):
        assert "join/waiting_room.html" in [t.name for t in _visit(client, participant).templates]


def test_first_visit_inside_the_window_records_joined_at_once(client, participant):
    participant.waiting_since = participant.admitted_at = START
    participant.save(update_fields=["waiting_since", "admitted_at"])
    with time_machine.travel(START, tick=False):
        _visit(client, participant)
        assert client.get(reverse("join:room")).status_code == 200
        assert client.get(reverse("join:room")).status_code == 200
    participant.refresh_from_db()
    assert participant.joined_at == START
    assert AuditEvent.objects.filter(action="participant.join", object_id=str(participant.pk)).count() == 1


def test_room_name_is_not_guessable_and_embeds_the_video_provider(client, participant, settings):
    settings.JITSI_BASE_URL = "https://video.example.test"
    participant.waiting_since = participant.admitted_at = START
    participant.save(update_fields=["waiting_since", "admitted_at"])
    with time_machine.travel(START, tick=False):
        _visit(client, participant)
        content = client.get(reverse("join:room")).content.decode()
    room = participant.session.video_room_name
    assert len(room) >= 32
    assert f'src="https://video.example.test/{room}' in content


def test_cancelled_session_link_says_so(client, participant):
    participant.session.status = "cancelled"
    participant.session.save(update_fields=["status"])
    with time_machine.travel(START, tick=False):
        response = _visit(client, participant)
    assert "join/cancelled.html" in [t.name for t in response.templates]


def test_join_token_is_redacted_from_logs(participant):
    from config.logging import redact

    line = f'"GET /join/{join_token(participant)}/ HTTP/1.1" 302 0'
    assert join_token(participant) not in redact(line)
    assert "/join/[redacted]/" in redact(line)
