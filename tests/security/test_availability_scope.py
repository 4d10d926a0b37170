"""Availability answers tell a session's title only to someone who may open that session (issue 8, item 8).

A room booked by another host, or a colleague's diary on Reassign, is "busy" with its time; the title and
the participants stay behind the same scope as the session's own page (sessions_visible_to).
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from config.errors import ValidationFailedError
from sessions_app.models import BlockedSlot, Room, Session
from sessions_app.services import session_reassign
from sessions_app.timefmt import format_when
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

PRIVATE_TITLE = "A2 private: therapy with J. Smith"
PRIVATE_NAME = "Jonathan Smith"
PRIVATE_NOTE = "Chemotherapy appointment"


def _start(days: int = 2):
    return (
        (timezone.now() + timedelta(days=days))
        .astimezone(timezone.get_default_timezone())
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )


@pytest.fixture
def room(organization):
    return Room.objects.create(organization=organization, name="Blue room")


@pytest.fixture
def colleagues_session(other_host, room):
    """Another host's session in the shared room, with a title and a participant nobody else should read."""
    session = SessionFactory(host=other_host, start_at=_start(), room=room, title=PRIVATE_TITLE)
    ParticipantFactory(session=session, name=PRIVATE_NAME)
    return session


def _assert_busy_only(content: str, when: str) -> None:
    assert when in content
    for secret in (PRIVATE_TITLE, "J. Smith", PRIVATE_NAME, PRIVATE_NOTE):
        assert secret not in content


def _act_for(client, scheduler, host) -> None:
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))


def _schedule_data(start, room, zone) -> dict:
    # The Schedule form reads the date and time in the host's zone.
    local = start.astimezone(zone)
    return {
        "title": "Weekly therapy",
        "date": f"{local:%Y-%m-%d}",
        "time": f"{local:%H:%M}",
        "duration_minutes": "50",
        "room": str(room.pk),
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "1",
        "participants-MAX_NUM_FORMS": "20",
        "participants-0-name": "Maria Garcia",
        "participants-0-invite_method": "email",
        "participants-0-email": "maria@example.test",
        "participants-0-time_zone": "Europe/Madrid",
    }


def test_a_host_scheduling_into_a_room_another_host_booked_is_told_busy_and_when_not_what(
    client, host, room, colleagues_session
):
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"), _schedule_data(colleagues_session.start_at, room, host.zone)
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "The room is busy with another session" in content
    _assert_busy_only(content, format_when(colleagues_session.start_at, host.time_zone))
    assert not Session.objects.filter(host=host).exists()


def test_the_availability_box_on_reschedule_says_busy_for_another_hosts_session_in_the_room(
    client, host, room, colleagues_session
):
    mine = SessionFactory(host=host, start_at=_start(days=3), room=room, title="Mine")
    local = colleagues_session.start_at.astimezone(host.zone)
    client.force_login(host)
    response = client.get(
        reverse("sessions:availability", kwargs={"pk": mine.pk}),
        {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"},
    )
    content = response.content.decode()
    assert "Room is not available" in content and "The room is busy with another session" in content
    _assert_busy_only(content, format_when(colleagues_session.start_at, host.time_zone))

    response = client.post(
        reverse("sessions:reschedule", kwargs={"pk": mine.pk}),
        {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"},
    )
    assert response.status_code == 200
    _assert_busy_only(response.content.decode(), format_when(colleagues_session.start_at, host.time_zone))


def test_a_scheduler_of_the_organisation_who_may_open_the_session_is_told_its_title(
    client, scheduler, host, room, colleagues_session
):
    mine = SessionFactory(host=host, start_at=_start(days=3), room=room, title="Mine")
    local = colleagues_session.start_at.astimezone(scheduler.zone)
    _act_for(client, scheduler, host)
    response = client.get(
        reverse("sessions:availability", kwargs={"pk": mine.pk}),
        {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"},
    )
    assert "The room is booked for “A2 private: therapy with J. Smith”" in response.content.decode()
    # Never the participants, even to someone who may open the session.
    assert PRIVATE_NAME not in response.content.decode()


def test_the_reassign_page_does_not_show_a_host_their_colleagues_titles_or_notes(
    client, host, other_host, colleagues_session
):
    mine = SessionFactory(host=host, start_at=colleagues_session.start_at, title="Mine")
    BlockedSlot.objects.create(
        host=other_host,
        start_at=mine.start_at - timedelta(hours=1),
        end_at=mine.end_at + timedelta(hours=1),
        note=PRIVATE_NOTE,
    )
    client.force_login(host)
    page = client.get(reverse("sessions:reassign", kwargs={"pk": mine.pk})).content.decode()
    assert f"{other_host.full_name} — not available: Busy with another session (" in page
    _assert_busy_only(page, format_when(colleagues_session.start_at, host.time_zone))

    response = client.post(reverse("sessions:reassign", kwargs={"pk": mine.pk}), {"new_host": other_host.pk})
    assert response.status_code == 200
    _assert_busy_only(response.content.decode(), format_when(colleagues_session.start_at, host.time_zone))
    mine.refresh_from_db()
    assert mine.host == host


def test_the_reassign_page_shows_a_scheduler_the_titles_of_the_hosts_they_act_for(
    client, scheduler, host, other_host, colleagues_session
):
    mine = SessionFactory(host=host, start_at=colleagues_session.start_at, title="Mine")
    _act_for(client, scheduler, host)
    page = client.get(reverse("sessions:reassign", kwargs={"pk": mine.pk})).content.decode()
    assert "Overlaps “A2 private: therapy with J. Smith”" in page


def test_the_reassign_service_refuses_a_host_without_naming_the_colleagues_session(
    host, other_host, colleagues_session
):
    mine = SessionFactory(host=host, start_at=colleagues_session.start_at, title="Mine")
    with pytest.raises(ValidationFailedError) as refused:
        session_reassign(actor=host, session=mine, new_host=other_host)
    assert "Busy with another session" in refused.value.message
    _assert_busy_only(refused.value.message, format_when(colleagues_session.start_at, host.time_zone))


def test_a_host_still_reads_the_titles_of_their_own_sessions(client, host):
    own = SessionFactory(host=host, start_at=_start(), title="Own client")
    mine = SessionFactory(host=host, start_at=_start(days=3), title="Mine")
    local = own.start_at.astimezone(host.zone)
    client.force_login(host)
    response = client.get(
        reverse("sessions:availability", kwargs={"pk": mine.pk}),
        {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"},
    )
    assert "Overlaps “Own client”" in response.content.decode()
