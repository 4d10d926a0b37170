"""The session actions through HTTP, as a host and as a scheduler acting for them: each page calls its
service, and the database, the audit log and the notices show it; nobody outside the scope gets further
than a 404."""

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from notifications.models import Notification
from sessions_app.models import BlockedSlot, Participant, Room, Session, WorkingHours
from sessions_app.services import ParticipantDetails, RepeatRule, session_schedule
from sessions_app.timefmt import local_to_utc
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

ACTIONS = [
    "reschedule",
    "availability",
    "cancel",
    "remove",
    "schedule_next",
    "change_end",
    "no_show",
    "reassign",
]
FORM_ACTIONS = [name for name in ACTIONS if name != "availability"]


def url(name: str, session: Session) -> str:
    return reverse(f"sessions:{name}", kwargs={"pk": session.pk})


def in_days(days: int, at: time, zone_name: str) -> tuple[date, datetime]:
    """A local date `days` ahead in a zone, and that date at `at` there, as UTC."""
    day = (timezone.now().astimezone(zoneinfo.ZoneInfo(zone_name)) + timedelta(days=days)).date()
    return day, local_to_utc(day, at, zone_name)


def success_message(response) -> str:
    return " ".join(m.message for m in get_messages(response.wsgi_request) if m.level_tag == "success")


@pytest.fixture
def session(host):
    # Whole minutes, as the forms take them.
    start = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    session = SessionFactory(host=host, title="Weekly review", start_at=start)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    ParticipantFactory(session=session, name="Sam", email="sam@example.test")
    return session


@pytest.fixture(params=["host", "scheduler"])
def actor(request, client, host):
    """The client logged in as the host, or as a scheduler who chose to act for the host."""
    user = request.getfixturevalue(request.param)
    client.force_login(user)
    if request.param == "scheduler":
        assert client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk})).status_code == 302
    return user


def only_event(action: str) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, events
    return events[0]


# Scope ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("verb", ["get", "post", "put", "delete"])
def test_another_host_gets_404_for_every_action_and_verb(client, other_host, session, name, verb):
    client.force_login(other_host)
    assert getattr(client, verb)(url(name, session)).status_code == 404
    session.refresh_from_db()
    assert (session.status, session.host_id) == (Session.Status.SCHEDULED, session.host_id)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("verb", ["get", "post"])
def test_a_scheduler_of_another_organisation_gets_404(client, outsider_scheduler, session, name, verb):
    client.force_login(outsider_scheduler)
    assert getattr(client, verb)(url(name, session)).status_code == 404
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("verb", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(client, session, name, verb):
    response = getattr(client, verb)(url(name, session))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", FORM_ACTIONS)
def test_an_unsupported_verb_on_ones_own_session_is_405(client, host, session, name):
    client.force_login(host)
    assert client.put(url(name, session)).status_code == 405


@pytest.mark.parametrize("name", FORM_ACTIONS)
def test_every_action_page_renders_a_form_with_a_csrf_token(client, host, other_host, session, name):
    client.force_login(host)
    # Remove and no-show are for a session that has started; the others are offered before it.
    moment = session.start_at + timedelta(minutes=10 if name in ("remove", "no_show") else -60)
    with time_machine.travel(moment, tick=False):
        response = client.get(url(name, session))
    assert response.status_code == 200
    form = re.search(
        rf'<form method="post" id="{name.replace("_", "-")}-form".*?</form>', response.content.decode(), re.S
    )
    assert form, name
    assert 'name="csrfmiddlewaretoken"' in form.group(0)


# Reschedule -------------------------------------------------------------------------------------------------


def test_reschedule_moves_the_session_and_notifies_participants_with_the_reason(client, actor, host, session):
    old_start = session.start_at
    day, new_start = in_days(3, time(14, 30), host.time_zone)
    response = client.post(
        url("reschedule", session),
        {"date": day.isoformat(), "time": "14:30", "reason": "The clinic is closed", "notify": "on"},
    )

    assert response.status_code == 302
    assert response["Location"] == url("detail", session)
    session.refresh_from_db()
    assert session.start_at == new_start
    assert session.end_at == new_start + timedelta(minutes=50)
    assert "is moved to" in success_message(response)
    event = only_event("session.reschedule")
    assert (event.actor, event.acting_for) == (actor, host)
    assert event.details["reason"] == "The clinic is closed"
    notices = Notification.objects.filter(kind=Notification.Kind.RESCHEDULE, session=session)
    assert sorted(n.recipient for n in notices) == ["pat@example.test", "sam@example.test"]
    assert {n.context["reason"] for n in notices} == {"The clinic is closed"}
    assert {n.context["old_start"] for n in notices} == {old_start.isoformat()}


def test_reschedule_without_notify_sends_nothing(client, host, session):
    client.force_login(host)
    day, new_start = in_days(2, time(9, 0), host.time_zone)
    response = client.post(url("reschedule", session), {"date": day.isoformat(), "time": "09:00"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.start_at == new_start
    assert "Participants were not notified" in success_message(response)
    assert not Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).exists()


def test_reschedule_form_starts_with_notify_ticked_and_the_current_time_in_the_hosts_zone(
    client, scheduler, host, session
):
    host.time_zone = "America/New_York"
    host.save(update_fields=["time_zone"])
    client.force_login(scheduler)
    content = client.get(url("reschedule", session)).content.decode()
    local = session.start_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f'value="{local:%Y-%m-%d}"' in content
    assert f'value="{local:%H:%M}"' in content
    assert "In America/New York, the host's time zone." in content
    assert re.search(r'<input[^>]*name="notify"[^>]*checked', content)
    # A single session has no series scope to choose.
    assert 'name="scope"' not in content


def test_reschedule_reads_the_time_in_the_hosts_zone_and_reports_it_in_the_viewers(
    client, scheduler, host, session
):
    host.time_zone = "America/New_York"
    host.save(update_fields=["time_zone"])
    scheduler.time_zone = "Europe/Paris"
    scheduler.save(update_fields=["time_zone"])
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    day, new_start = in_days(4, time(8, 0), "America/New_York")
    response = client.post(
        url("reschedule", session), {"date": day.isoformat(), "time": "08:00", "notify": "on"}
    )
    session.refresh_from_db()
    assert session.start_at == new_start
    paris = new_start.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert f"{paris:%H:%M} {paris.tzname()} (Europe/Paris)" in success_message(response)


def test_reschedule_over_the_hosts_own_session_is_refused_and_changes_nothing(client, host, session):
    day, taken = in_days(3, time(11, 0), host.time_zone)
    SessionFactory(host=host, start_at=taken, title="Already booked")
    old_start = session.start_at
    client.force_login(host)
    response = client.post(
        url("reschedule", session),
        {"date": day.isoformat(), "time": "11:20", "reason": "Keep me", "notify": "on"},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Overlaps “Already booked”" in content
    # What was typed is still there.
    assert 'value="11:20"' in content and "Keep me" in content
    session.refresh_from_db()
    assert session.start_at == old_start
    assert not AuditEvent.objects.exists()
    assert not Notification.objects.exists()


def test_reschedule_into_the_past_is_refused_by_the_form(client, host, session):
    client.force_login(host)
    day, _ = in_days(-1, time(10, 0), host.time_zone)
    response = client.post(url("reschedule", session), {"date": day.isoformat(), "time": "10:00"})
    assert response.status_code == 200
    assert "That time has already passed" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_a_live_session_cannot_be_rescheduled(client, host, session):
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE)
    client.force_login(host)
    menu = client.get(url("manage_menu", session)).content.decode()
    assert "Not while the host is connected to the session." in menu
    assert f'href="{url("reschedule", session)}"' not in menu
    day, _ = in_days(3, time(10, 0), host.time_zone)
    response = client.post(url("reschedule", session), {"date": day.isoformat(), "time": "10:00"})
    assert response.status_code == 200
    assert "cannot be rescheduled" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_reschedule_this_and_the_following_sessions_of_a_series(client, host):
    first_day, first_start = in_days(2, time(10, 0), host.time_zone)
    first = session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=first_start,
        duration_minutes=50,
        participants=[ParticipantDetails(name="Pat", invite_method="email", email="pat@example.test")],
        repeat=RepeatRule(frequency="weekly", count=3),
    )
    sessions = list(Session.objects.filter(series=first.series).order_by("start_at"))
    starts = [s.start_at for s in sessions]
    client.force_login(host)
    assert 'name="scope"' in client.get(url("reschedule", sessions[1])).content.decode()

    day = first_day + timedelta(days=7)
    response = client.post(
        url("reschedule", sessions[1]),
        {"date": day.isoformat(), "time": "11:00", "scope": "following", "notify": "on"},
    )

    assert response.status_code == 302
    for moved in sessions:
        moved.refresh_from_db()
    assert sessions[0].start_at == starts[0]
    assert [s.start_at - old for s, old in zip(sessions[1:], starts[1:], strict=True)] == [
        timedelta(hours=1)
    ] * 2
    assert "the following sessions of its series" in success_message(response)
    # One notice for the person, listing both moved dates.
    notice = Notification.objects.get(kind=Notification.Kind.RESCHEDULE)
    assert len(notice.context["occurrences"]) == 2


# Availability -----------------------------------------------------------------------------------------------


def availability(client, session, day: date, at: str, **params) -> str:
    response = client.get(url("availability", session), {"date": day.isoformat(), "time": at, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_availability_says_slot_available_for_a_free_time(client, host, session):
    client.force_login(host)
    day, _ = in_days(3, time(10, 0), host.time_zone)
    content = availability(client, session, day, "10:00")
    assert "Slot available" in content
    assert 'data-status="available"' in content


def test_availability_does_not_count_the_session_against_itself(client, host, session):
    client.force_login(host)
    local = session.start_at.astimezone(host.zone) + timedelta(minutes=10)
    assert "Slot available" in availability(client, session, local.date(), f"{local:%H:%M}")


def test_availability_shows_a_blocked_slot_as_host_not_available(client, host, session):
    day, start = in_days(3, time(10, 0), host.time_zone)
    BlockedSlot.objects.create(
        host=host, start_at=start, end_at=start + timedelta(hours=3), note="Conference"
    )
    client.force_login(host)
    content = availability(client, session, day, "10:30")
    assert "Host is not available" in content
    assert "Blocked: Conference" in content
    assert "You can still save this time." in content


def test_availability_outside_working_hours_is_host_not_available_but_may_be_saved(client, host, session):
    day, new_start = in_days(3, time(18, 0), host.time_zone)
    WorkingHours.objects.create(host=host, weekday=day.weekday(), start_time=time(9), end_time=time(17))
    client.force_login(host)
    content = availability(client, session, day, "18:00")
    assert "Host is not available" in content
    assert "Outside the host&#x27;s working hours" in content

    response = client.post(url("reschedule", session), {"date": day.isoformat(), "time": "18:00"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.start_at == new_start


def test_availability_says_room_not_available_when_the_room_holds_another_session(
    client, host, other_host, session, organization
):
    room = Room.objects.create(organization=organization, name="Room 1")
    Session.objects.filter(pk=session.pk).update(room=room)
    day, taken = in_days(3, time(10, 0), host.time_zone)
    SessionFactory(host=other_host, start_at=taken, room=room, title="Colleague's group")
    client.force_login(host)

    content = availability(client, session, day, "10:15")
    assert "Room is not available" in content
    # The colleague's session is not the host's to see: busy, with its time, and no title.
    assert "The room is busy" in content and "Colleague" not in content
    assert "This time cannot be saved" in content

    response = client.post(url("reschedule", session), {"date": day.isoformat(), "time": "10:15"})
    assert response.status_code == 200
    assert "The room is busy" in response.content.decode()
    session.refresh_from_db()
    assert session.start_at != taken


def test_availability_for_a_new_end_checks_the_longer_session(client, host, session):
    SessionFactory(host=host, start_at=session.end_at + timedelta(minutes=10), title="Next client")
    end = session.end_at.astimezone(host.zone) + timedelta(minutes=30)
    client.force_login(host)
    response = client.get(url("availability", session), {"mode": "change_end", "end_time": f"{end:%H:%M}"})
    assert "Host is not available" in response.content.decode()
    assert "Overlaps “Next client”" in response.content.decode()


def test_availability_without_a_time_says_what_is_missing(client, host, session):
    client.force_login(host)
    response = client.get(url("availability", session), {"date": "", "time": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


# Cancel and remove ------------------------------------------------------------------------------------------


def test_cancel_with_a_reason_notifies_participants_and_leaves_the_dashboard(client, actor, host, session):
    response = client.post(url("cancel", session), {"reason": "I am ill"})

    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:dashboard")
    assert "cancelled" in success_message(response)
    session.refresh_from_db()
    assert (session.status, session.cancel_reason) == (Session.Status.CANCELLED, "I am ill")
    event = only_event("session.cancel")
    assert (event.actor, event.acting_for) == (actor, host)
    notices = Notification.objects.filter(kind=Notification.Kind.CANCELLATION, session=session)
    assert sorted(n.recipient for n in notices) == ["pat@example.test", "sam@example.test"]
    assert {n.context["reason"] for n in notices} == {"I am ill"}
    assert f'data-session-id="{session.pk}"' not in client.get(reverse("sessions:dashboard")).content.decode()


def test_cancel_after_five_minutes_is_refused_and_offers_remove(client, host, session):
    client.force_login(host)
    with time_machine.travel(session.start_at + timedelta(minutes=6), tick=False):
        page = client.get(url("cancel", session)).content.decode()
        response = client.post(url("cancel", session), {"reason": "Too late"})
    assert url("remove", session) in page
    assert response.status_code == 200
    assert "remove it instead of cancelling" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_remove_after_five_minutes_takes_the_session_away_without_any_notice(client, actor, host, session):
    with time_machine.travel(session.start_at + timedelta(minutes=10), tick=False):
        response = client.post(url("remove", session))
        dashboard = client.get(reverse("sessions:dashboard")).content.decode()

    assert response.status_code == 302
    assert "No notice was sent" in success_message(response)
    session.refresh_from_db()
    assert session.status == Session.Status.REMOVED
    event = only_event("session.remove")
    assert (event.actor, event.acting_for) == (actor, host)
    assert not Notification.objects.exists()
    assert f'data-session-id="{session.pk}"' not in dashboard


def test_remove_before_five_minutes_is_refused(client, host, session):
    client.force_login(host)
    with time_machine.travel(session.start_at + timedelta(minutes=4), tick=False):
        response = client.post(url("remove", session))
    assert response.status_code == 200
    assert "cancel the session instead" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_cancel_after_five_minutes_becomes_remove_in_the_menu_and_quick_actions(client, host):
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    session = SessionFactory(host=host, start_at=start)
    client.force_login(host)
    cancel, remove = f'href="{url("cancel", session)}"', f'href="{url("remove", session)}"'
    for minutes, offered, hidden in [(-60, cancel, remove), (5, cancel, remove), (6, remove, cancel)]:
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            menu = client.get(url("manage_menu", session)).content.decode()
            detail = client.get(url("detail", session)).content.decode()
        for page in (menu, detail):
            assert offered in page and hidden not in page, minutes
    assert "Quick actions" in detail


def test_every_menu_item_leads_to_a_working_page(client, host, other_host, session):
    client.force_login(host)
    with time_machine.travel(session.start_at + timedelta(minutes=1), tick=False):
        dashboard = client.get(reverse("sessions:dashboard")).content.decode()
        assert f'hx-get="{url("manage_menu", session)}"' in dashboard
        menu = client.get(url("manage_menu", session)).content.decode()
        for name in ["reschedule", "change_end", "schedule_next", "no_show", "reassign", "cancel"]:
            assert f'href="{url(name, session)}"' in menu, name
            assert client.get(url(name, session)).status_code == 200


# Schedule next ----------------------------------------------------------------------------------------------


def test_schedule_next_is_prefilled_a_week_later_at_the_same_local_time(client, host):
    host.time_zone = "Europe/Paris"
    host.save(update_fields=["time_zone"])
    # 10:00 in Paris on 24 October 2026 (summer time); a week later the clocks have gone back.
    session = SessionFactory(host=host, start_at=datetime(2026, 10, 24, 8, 0, tzinfo=UTC))
    client.force_login(host)
    with time_machine.travel(datetime(2026, 10, 20, 12, 0, tzinfo=UTC), tick=False):
        content = client.get(url("schedule_next", session)).content.decode()
    assert 'value="2026-10-31"' in content
    assert 'value="10:00"' in content


def test_schedule_next_creates_a_session_with_the_same_participants(client, actor, host, session):
    day, start = in_days(8, time(15, 0), host.time_zone)
    response = client.post(
        url("schedule_next", session), {"title": "Weekly review", "date": day.isoformat(), "time": "15:00"}
    )

    assert response.status_code == 302
    created = Session.objects.exclude(pk=session.pk).get()
    assert response["Location"] == url("detail", created)
    assert (created.host, created.start_at, created.duration_minutes) == (host, start, 50)
    assert sorted(created.participants.values_list("name", flat=True)) == ["Pat", "Sam"]
    assert "Invites are on their way to 2 participants" in success_message(response)
    assert Notification.objects.filter(session=created, kind=Notification.Kind.INVITE).count() == 2
    event = only_event("session.schedule_next")
    assert (event.actor, event.acting_for) == (actor, host)
    assert created.created_by == actor


def test_schedule_next_over_the_hosts_own_session_is_refused(client, host, session):
    day, taken = in_days(8, time(15, 0), host.time_zone)
    SessionFactory(host=host, start_at=taken, title="Busy")
    client.force_login(host)
    response = client.post(
        url("schedule_next", session), {"title": "Weekly review", "date": day.isoformat(), "time": "15:00"}
    )
    assert response.status_code == 200
    assert "Overlaps “Busy”" in response.content.decode()
    assert Session.objects.count() == 2


# Change end time --------------------------------------------------------------------------------------------


def test_change_end_extends_the_session_and_notifies_participants(client, actor, host, session):
    old_end = session.end_at
    new_end = old_end + timedelta(minutes=25)
    response = client.post(
        url("change_end", session), {"end_time": f"{new_end.astimezone(host.zone):%H:%M}", "notify": "on"}
    )

    assert response.status_code == 302
    assert "now ends at" in success_message(response)
    session.refresh_from_db()
    assert (session.end_at, session.duration_minutes) == (new_end, 75)
    event = only_event("session.change_end")
    assert (event.actor, event.acting_for) == (actor, host)
    notices = Notification.objects.filter(kind=Notification.Kind.END_CHANGED, session=session)
    assert sorted(n.recipient for n in notices) == ["pat@example.test", "sam@example.test"]
    assert {n.context["old_end"] for n in notices} == {old_end.isoformat()}


def test_change_end_past_midnight_ends_the_next_day(client, host):
    day, start = in_days(2, time(23, 0), host.time_zone)
    session = SessionFactory(host=host, start_at=start, duration_minutes=50)
    client.force_login(host)
    response = client.post(url("change_end", session), {"end_time": "00:30"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.end_at == local_to_utc(day + timedelta(days=1), time(0, 30), host.time_zone)
    assert session.duration_minutes == 90
    assert not Notification.objects.exists()


def test_change_end_over_another_session_is_refused(client, host, session):
    SessionFactory(host=host, start_at=session.end_at + timedelta(minutes=5), title="Next client")
    end = session.end_at.astimezone(host.zone) + timedelta(minutes=30)
    client.force_login(host)
    response = client.post(url("change_end", session), {"end_time": f"{end:%H:%M}", "notify": "on"})
    assert response.status_code == 200
    assert "Overlaps “Next client”" in response.content.decode()
    assert Session.objects.get(pk=session.pk).duration_minutes == 50


# No-show ----------------------------------------------------------------------------------------------------


def test_no_show_marks_the_ticked_participants(client, actor, host, session):
    pat = session.participants.get(name="Pat")
    with time_machine.travel(session.start_at + timedelta(minutes=15), tick=False):
        response = client.post(url("no_show", session), {"participants": [pat.pk]})

    assert response.status_code == 302
    assert "Pat" in success_message(response)
    assert list(Participant.objects.filter(no_show=True)) == [pat]
    session.refresh_from_db()
    assert session.no_show is False
    event = only_event("session.no_show")
    assert (event.actor, event.acting_for) == (actor, host)
    assert event.details["participants"] == [pat.pk]


def test_nobody_came_marks_the_whole_session(client, host, session):
    client.force_login(host)
    with time_machine.travel(session.start_at + timedelta(minutes=15), tick=False):
        response = client.post(url("no_show", session), {"whole_session": "on"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.no_show is True
    assert session.outcome == "No-show"
    assert Participant.objects.filter(session=session, no_show=True).count() == 2


def test_no_show_before_the_start_is_not_offered_and_refused(client, host, session):
    client.force_login(host)
    assert (
        f'href="{url("no_show", session)}"' not in client.get(reverse("sessions:dashboard")).content.decode()
    )
    assert "once the session has started" in client.get(url("no_show", session)).content.decode()
    response = client.post(url("no_show", session), {"whole_session": "on"})
    assert response.status_code == 200
    session.refresh_from_db()
    assert session.no_show is False
    assert not AuditEvent.objects.exists()


def test_no_show_needs_someone_ticked(client, host, session):
    client.force_login(host)
    with time_machine.travel(session.start_at + timedelta(minutes=15), tick=False):
        response = client.post(url("no_show", session), {})
    assert response.status_code == 200
    assert "Tick who did not come" in response.content.decode()


# Reassign ---------------------------------------------------------------------------------------------------


def test_reassign_gives_the_session_to_a_colleague_who_is_emailed(client, actor, host, other_host, session):
    response = client.post(url("reassign", session), {"new_host": other_host.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:dashboard")
    assert other_host.full_name in success_message(response)
    session.refresh_from_db()
    assert session.host == other_host
    notice = Notification.objects.get(kind=Notification.Kind.REASSIGNED)
    assert (notice.host, notice.recipient, notice.session) == (other_host, other_host.email, session)
    assert notice.context["previous_host"] == host.full_name
    event = only_event("session.reassign")
    assert event.actor == actor
    assert (event.details["previous_host"], event.details["new_host"]) == (host.pk, other_host.pk)


def test_reassign_records_the_host_acted_for(client, scheduler, host, other_host, session):
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    client.post(url("reassign", session), {"new_host": other_host.pk})
    assert only_event("session.reassign").acting_for == host


def test_reassign_marks_busy_colleagues_and_refuses_an_overlap(client, host, other_host, session):
    SessionFactory(host=other_host, start_at=session.start_at, title="Ben's own client")
    client.force_login(host)
    page = client.get(url("reassign", session)).content.decode()
    assert f"{other_host.full_name} — not available" in page

    response = client.post(url("reassign", session), {"new_host": other_host.pk})
    assert response.status_code == 200
    # Ben's session is not the host's to see: busy, never its title.
    content = response.content.decode()
    assert "Busy with another session (" in content and "own client" not in content
    session.refresh_from_db()
    assert session.host == host
    assert not Notification.objects.exists()


def test_reassign_is_refused_for_a_live_session(client, host, other_host, session):
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE)
    client.force_login(host)
    assert "cannot be reassigned" in client.get(url("reassign", session)).content.decode()
    response = client.post(url("reassign", session), {"new_host": other_host.pk})
    assert response.status_code == 200
    assert "cannot be reassigned" in response.content.decode()
    session.refresh_from_db()
    assert session.host == host


def test_reassign_offers_only_hosts_of_the_organisation(
    client, host, other_host, outsider_scheduler, session
):
    client.force_login(host)
    response = client.post(url("reassign", session), {"new_host": outsider_scheduler.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    session.refresh_from_db()
    assert session.host == host


def test_cancel_this_and_the_following_sessions_of_a_series(client, host):
    _, start = in_days(2, time(10, 0), host.time_zone)
    first = session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=start,
        duration_minutes=50,
        participants=[ParticipantDetails(name="Pat", invite_method="email", email="pat@example.test")],
        repeat=RepeatRule(frequency="weekly", count=3),
    )
    sessions = list(Session.objects.filter(series=first.series).order_by("start_at"))
    client.force_login(host)
    response = client.post(url("cancel", sessions[1]), {"reason": "Moving away", "scope": "following"})

    assert response.status_code == 302
    assert "the following sessions of its series are cancelled" in success_message(response)
    statuses = list(
        Session.objects.filter(series=first.series).order_by("start_at").values_list("status", flat=True)
    )
    assert statuses == [Session.Status.SCHEDULED, Session.Status.CANCELLED, Session.Status.CANCELLED]
    notice = Notification.objects.get(kind=Notification.Kind.CANCELLATION)
    assert notice.context["reason"] == "Moving away"
    assert len(notice.context["occurrences"]) == 2
