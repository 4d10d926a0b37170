"""Rooms (services and the Rooms page) and the Schedule form's Room and Repeat choices."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from notifications.models import Notification
from sessions_app.models import Room, Series, Session
from sessions_app.recurrence import series_length_until
from sessions_app.services import room_add, room_update
from tests.factories import SessionFactory
from tests.sessions_app.support import MARIA, morning_in, schedule_form_data

pytestmark = pytest.mark.django_db


def _act_for(client, scheduler, host):
    client.force_login(scheduler)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = host.pk
    session.save()


# Room services --------------------------------------------------------------------------------------------


def test_room_add_is_audited_for_the_organisation(scheduler):
    room = room_add(actor=scheduler, name="  Room   2 ")
    assert (room.name, room.organization, room.is_active) == ("Room 2", scheduler.organization, True)
    event = AuditEvent.objects.get(action="room.add")
    assert (event.actor, event.acting_for, event.object_id) == (scheduler, scheduler, str(room.pk))
    assert event.organization == scheduler.organization


def test_room_names_are_unique_in_an_organisation_whatever_the_case(scheduler, outsider_scheduler):
    room_add(actor=scheduler, name="Blue room")
    with pytest.raises(ValidationFailedError, match="already a room called"):
        room_add(actor=scheduler, name="BLUE ROOM")
    # Another organisation may use the same name.
    room_add(actor=outsider_scheduler, name="Blue room")
    assert Room.objects.count() == 2


def test_room_update_renames_and_deactivates_with_one_audit_event_each(scheduler):
    room = room_add(actor=scheduler, name="Blue room")
    room_update(actor=scheduler, room=room, name="Green room")
    room_update(actor=scheduler, room=room, is_active=False)
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Green room", False)
    events = AuditEvent.objects.filter(action="room.update").order_by("id")
    assert [e.details for e in events] == [
        {"name": ["Blue room", "Green room"]},
        {"is_active": [True, False]},
    ]
    # Saving what is already there changes nothing and records nothing.
    room_update(actor=scheduler, room=room, name="Green room", is_active=False)
    assert AuditEvent.objects.filter(action="room.update").count() == 2


def test_renaming_a_room_to_a_name_in_use_is_refused(scheduler):
    room_add(actor=scheduler, name="Blue room")
    green = room_add(actor=scheduler, name="Green room")
    with pytest.raises(ValidationFailedError, match="already a room called"):
        room_update(actor=scheduler, room=green, name="blue room")
    # A change of case of its own name is fine.
    room_update(actor=scheduler, room=green, name="GREEN room")


def test_hosts_and_other_organisations_cannot_manage_rooms(host, scheduler, outsider_scheduler):
    with pytest.raises(PermissionDeniedError):
        room_add(actor=host, name="Host's room")
    room = room_add(actor=scheduler, name="Blue room")
    with pytest.raises(PermissionDeniedError):
        room_update(actor=host, room=room, is_active=False)
    with pytest.raises(PermissionDeniedError):
        room_update(actor=outsider_scheduler, room=room, name="Stolen")
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Blue room", True)


# Rooms page -----------------------------------------------------------------------------------------------


def test_scheduler_adds_renames_deactivates_and_reactivates_a_room(client, scheduler):
    # Rooms belong to the organisation: no host needs to be chosen first.
    client.force_login(scheduler)
    response = client.post(reverse("sessions:room_add"), {"new-room-name": "Blue room"})
    assert response.status_code == 302 and response["Location"] == reverse("sessions:rooms")
    room = Room.objects.get()
    response = client.post(
        reverse("sessions:room_rename", kwargs={"pk": room.pk}), {f"room-{room.pk}-name": "Green room"}
    )
    assert response.status_code == 302
    client.post(reverse("sessions:room_deactivate", kwargs={"pk": room.pk}))
    room.refresh_from_db()
    assert (room.name, room.is_active) == ("Green room", False)
    page = client.get(reverse("sessions:rooms")).content.decode()
    assert 'id="inactive-rooms"' in page and "<s>Green room</s>" in page
    client.post(reverse("sessions:room_activate", kwargs={"pk": room.pk}))
    room.refresh_from_db()
    assert room.is_active
    assert AuditEvent.objects.filter(action__startswith="room.", actor=scheduler).count() == 4


def test_a_duplicate_room_name_through_the_page_shows_the_reason_and_keeps_the_input(client, scheduler):
    room_add(actor=scheduler, name="Blue room")
    green = room_add(actor=scheduler, name="Green room")
    client.force_login(scheduler)
    response = client.post(reverse("sessions:room_add"), {"new-room-name": "blue ROOM"})
    assert response.status_code == 200
    assert "There is already a room called “blue ROOM”." in response.content.decode()
    assert 'value="blue ROOM"' in response.content.decode()
    response = client.post(
        reverse("sessions:room_rename", kwargs={"pk": green.pk}), {f"room-{green.pk}-name": "Blue room"}
    )
    assert response.status_code == 200
    assert "There is already a room called “Blue room”." in response.content.decode()
    assert Room.objects.filter(name="Green room").exists()


def test_a_host_sees_the_rooms_but_cannot_change_them(client, host, scheduler):
    room = room_add(actor=scheduler, name="Blue room")
    client.force_login(host)
    page = client.get(reverse("sessions:rooms")).content.decode()
    assert "Blue room" in page
    assert "Deactivate" not in page and 'id="room-add-form"' not in page
    assert client.post(reverse("sessions:room_add"), {"new-room-name": "Mine"}).status_code == 403
    assert client.post(reverse("sessions:room_deactivate", kwargs={"pk": room.pk})).status_code == 403
    room.refresh_from_db()
    assert room.is_active and Room.objects.count() == 1


def test_another_organisations_room_is_a_404(client, scheduler, outsider_scheduler):
    room = room_add(actor=scheduler, name="Blue room")
    client.force_login(outsider_scheduler)
    assert "Blue room" not in client.get(reverse("sessions:rooms")).content.decode()
    for name in ("sessions:room_rename", "sessions:room_deactivate", "sessions:room_activate"):
        assert client.post(reverse(name, kwargs={"pk": room.pk})).status_code == 404
        assert client.get(reverse(name, kwargs={"pk": room.pk})).status_code == 404


def test_room_actions_take_only_post(client, scheduler):
    room = room_add(actor=scheduler, name="Blue room")
    client.force_login(scheduler)
    assert client.get(reverse("sessions:room_add")).status_code == 405
    assert client.get(reverse("sessions:room_deactivate", kwargs={"pk": room.pk})).status_code == 405
    assert client.post(reverse("sessions:rooms")).status_code == 405


# The Schedule form: Room ----------------------------------------------------------------------------------


def _schedule_data(start: datetime, **extra) -> dict:
    priya = {
        "name": "Priya Shah",
        "invite_method": "sms",
        "phone": "+447911123456",
        "time_zone": "Europe/London",
    }
    return schedule_form_data(start, [MARIA, priya], **extra)


def test_the_room_select_offers_only_the_organisations_active_rooms(
    client, host, scheduler, outsider_scheduler
):
    room_add(actor=scheduler, name="Blue room")
    closed = room_add(actor=scheduler, name="Closed room")
    room_update(actor=scheduler, room=closed, is_active=False)
    room_add(actor=outsider_scheduler, name="Elsewhere")
    client.force_login(host)
    page = client.get(reverse("sessions:schedule")).content.decode()
    assert "Blue room" in page
    assert "Closed room" not in page and "Elsewhere" not in page


def test_the_room_select_is_left_out_when_the_organisation_has_no_rooms(client, host):
    client.force_login(host)
    assert 'name="room"' not in client.get(reverse("sessions:schedule")).content.decode()


def test_a_session_scheduled_with_a_room_keeps_it(client, host, scheduler):
    room = room_add(actor=scheduler, name="Blue room")
    client.force_login(host)
    response = client.post(reverse("sessions:schedule"), _schedule_data(morning_in(host), room=str(room.pk)))
    assert response.status_code == 302
    assert Session.objects.get().room == room


def test_a_room_of_another_organisation_cannot_be_posted(client, host, scheduler, outsider_scheduler):
    room_add(actor=scheduler, name="Blue room")
    elsewhere = room_add(actor=outsider_scheduler, name="Elsewhere")
    client.force_login(host)
    data = _schedule_data(morning_in(host), room=str(elsewhere.pk))
    response = client.post(reverse("sessions:schedule"), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Session.objects.exists()


def test_a_room_double_booking_through_the_form_is_refused_with_a_clear_message(
    client, host, other_host, scheduler
):
    room = room_add(actor=scheduler, name="Blue room")
    start = morning_in(host)
    SessionFactory(host=other_host, start_at=start + timedelta(minutes=30), room=room, title="Group session")
    client.force_login(host)
    response = client.post(reverse("sessions:schedule"), _schedule_data(start, room=str(room.pk)))
    assert response.status_code == 200
    content = response.content.decode()
    # The session in the room is a colleague's, so the host is told the room is busy, not what it is.
    assert content.count("The room is busy") == 1 and "Group session" not in content
    # What was typed is still there.
    assert 'value="Weekly therapy"' in content and 'value="maria@example.test"' in content
    assert f'<option value="{room.pk}" selected>' in content
    assert Session.objects.filter(host=host).count() == 0
    assert not Notification.objects.exists()


# The Schedule form: Repeat --------------------------------------------------------------------------------


def test_a_weekly_series_through_the_form_creates_n_sessions_and_one_invite_per_participant(client, host):
    start = morning_in(host)
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(start, repeat="weekly", repeat_ends="count", repeat_count="6"),
        follow=True,
    )
    sessions = list(Session.objects.order_by("start_at"))
    assert len(sessions) == 6
    assert {s.series_id for s in sessions} == {sessions[0].series_id} and sessions[0].series is not None
    assert sessions[0].series.frequency == Series.Frequency.WEEKLY
    # The host's wall-clock time holds across a daylight-saving change.
    assert {s.start_at.astimezone(host.zone).strftime("%a %H:%M") for s in sessions} == {
        start.strftime("%a %H:%M")
    }
    invites = Notification.objects.filter(kind=Notification.Kind.INVITE)
    assert sorted(invites.values_list("recipient", flat=True)) == ["+447911123456", "maria@example.test"]
    assert len(invites[0].context["occurrences"]) == 6
    assert (
        "“Weekly therapy” is scheduled every week: 6 sessions. Invites are on their way to 2 participants."
        in (response.content.decode())
    )


def test_a_monthly_series_until_a_date_through_the_form(client, host):
    start = morning_in(host)
    client.force_login(host)
    until = (start + timedelta(days=95)).date()
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(start, repeat="monthly", repeat_ends="until", repeat_until=until.isoformat()),
    )
    assert response.status_code == 302
    sessions = Session.objects.order_by("start_at")
    assert sessions.count() == series_length_until(start.date(), "monthly", until) == 4
    assert {s.start_at.astimezone(host.zone).day for s in sessions} <= {start.day, 28, 29, 30}


def test_a_scheduler_schedules_a_fortnightly_series_for_a_host(client, scheduler, host):
    _act_for(client, scheduler, host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(morning_in(host), repeat="biweekly", repeat_ends="count", repeat_count="3"),
    )
    assert response.status_code == 302
    starts = [s.start_at for s in Session.objects.filter(host=host).order_by("start_at")]
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] in (
        [timedelta(weeks=2)] * 2,
        # one gap may cross a daylight-saving change, the wall-clock time stays
        [timedelta(weeks=2, hours=1), timedelta(weeks=2)],
        [timedelta(weeks=2), timedelta(weeks=2, hours=1)],
        [timedelta(weeks=2, hours=-1), timedelta(weeks=2)],
        [timedelta(weeks=2), timedelta(weeks=2, hours=-1)],
    )
    event = AuditEvent.objects.get(action="session.schedule")
    assert (event.actor, event.acting_for, event.details["occurrences"]) == (scheduler, host, 3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"repeat_ends": "count"}, "Say how many sessions the series has (2 to 52)."),
        ({"repeat_ends": "count", "repeat_count": "53"}, "A series can have at most 52 sessions."),
        ({"repeat_ends": "count", "repeat_count": "1"}, "A series has at least 2 sessions."),
        ({"repeat_ends": "until"}, "Choose the date of the last session."),
        (
            {"repeat_ends": "until", "repeat_until": f"{timezone.now() - timedelta(days=1):%Y-%m-%d}"},
            "The last date must be after the first session",
        ),
    ],
)
def test_a_repeat_needs_a_number_of_sessions_or_a_last_date(client, host, extra, message):
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"), _schedule_data(morning_in(host), repeat="weekly", **extra)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Session.objects.exists()


def test_a_last_date_that_makes_more_than_52_sessions_is_refused(client, host):
    start = morning_in(host)
    client.force_login(host)
    until = start.date() + timedelta(weeks=52)  # 53 weekly sessions
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(start, repeat="weekly", repeat_ends="until", repeat_until=until.isoformat()),
    )
    assert "That makes more than 52 sessions" in response.content.decode()
    assert not Session.objects.exists()
    assert f'value="{until.isoformat()}"' in response.content.decode()


def test_repeat_details_are_ignored_when_the_session_does_not_repeat(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"), _schedule_data(morning_in(host), repeat="", repeat_count="9")
    )
    assert response.status_code == 302
    assert Session.objects.get().series is None


def test_a_series_that_hits_a_booked_slot_schedules_nothing(client, host):
    start = morning_in(host)
    SessionFactory(host=host, start_at=start + timedelta(weeks=2), title="Already there")
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(start, repeat="weekly", repeat_ends="count", repeat_count="4"),
    )
    assert response.status_code == 200
    assert "Overlaps “Already there”" in response.content.decode()
    assert Session.objects.count() == 1 and not Series.objects.exists()


@pytest.mark.parametrize(
    ("first", "frequency", "until", "expected"),
    [
        (date(2026, 1, 5), "weekly", date(2026, 1, 5), 1),
        (date(2026, 1, 5), "weekly", date(2026, 1, 26), 4),
        (date(2026, 1, 5), "biweekly", date(2026, 1, 26), 2),
        (date(2026, 1, 31), "monthly", date(2026, 4, 30), 4),
        (date(2026, 1, 31), "monthly", date(2026, 4, 29), 3),
        (date(2026, 1, 5), "weekly", date(2030, 1, 1), 53),
    ],
)
def test_series_length_until_counts_like_the_service(first, frequency, until, expected):
    assert series_length_until(first, frequency, until) == expected
