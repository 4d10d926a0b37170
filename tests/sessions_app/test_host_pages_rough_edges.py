"""What the session page and dashboard say, and the reschedule page's room: the rough edges found when the
product was used as the help articles describe (the browser walks are in tests/browser/test_rough_edges.py).
"""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from notifications.models import Notification
from sessions_app.models import Room, Session
from sessions_app.services import FOLLOWING, session_reschedule
from sessions_app.services.scheduling import RepeatRule
from sessions_app.timefmt import local_to_utc
from tests.factories import OrganizationFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def url(name: str, session: Session) -> str:
    return reverse(f"sessions:{name}", kwargs={"pk": session.pk})


@pytest.fixture
def session(host):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    session = SessionFactory(host=host, title="Weekly review", start_at=start)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    return session


@pytest.fixture
def rooms(organization):
    return Room.objects.create(organization=organization, name="Room A"), Room.objects.create(
        organization=organization, name="Room B"
    )


def _local(session: Session, zone) -> dict:
    local = session.start_at.astimezone(zone)
    return {"date": local.date().isoformat(), "time": f"{local:%H:%M}"}


# 1. Reschedule can change the room --------------------------------------------------------------------------


def test_reschedule_moves_the_session_to_another_room_at_the_same_time_and_tells_nobody(
    client, host, session, rooms
):
    room_a, room_b = rooms
    Session.objects.filter(pk=session.pk).update(room=room_a)
    client.force_login(host)
    page = client.get(url("reschedule", session)).content.decode()
    assert 'name="room"' in page and "Room B" in page

    response = client.post(url("reschedule", session), {**_local(session, host.zone), "room": room_b.pk})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.room == room_b
    assert not Notification.objects.filter(session=session, kind=Notification.Kind.RESCHEDULE).exists()
    event = AuditEvent.objects.get(action="session.reschedule")
    assert (event.details["old_room"], event.details["new_room"]) == ("Room A", "Room B")


def test_the_availability_answer_follows_the_room_chosen(client, host, other_host, session, rooms):
    room_a, room_b = rooms
    Session.objects.filter(pk=session.pk).update(room=room_a)
    SessionFactory(host=other_host, start_at=session.start_at, room=room_b, title="Group")
    client.force_login(host)
    here = _local(session, host.zone)

    own_room = client.get(url("availability", session), {**here, "room": room_a.pk}).content.decode()
    taken_room = client.get(url("availability", session), {**here, "room": room_b.pk}).content.decode()

    assert "Slot available" in own_room
    assert "Room is not available" in taken_room and "This time cannot be saved" in taken_room


def test_reschedule_into_a_taken_room_is_refused_on_the_room_and_keeps_what_was_typed(
    client, host, other_host, session, rooms
):
    room_a, room_b = rooms
    SessionFactory(host=other_host, start_at=session.start_at, room=room_b)
    client.force_login(host)

    response = client.post(url("reschedule", session), {**_local(session, host.zone), "room": room_b.pk})

    assert response.status_code == 200
    # The other host's session is not this host's to read: busy, with its time.
    assert "The room is busy with another session" in response.content.decode()
    assert response.context["form"]["room"].value() == str(room_b.pk)
    session.refresh_from_db()
    assert session.room is None


def test_a_room_of_another_organisation_is_refused_by_the_service(host, session):
    foreign = Room.objects.create(organization=OrganizationFactory(), name="Elsewhere")
    with pytest.raises(Exception, match="organisation's rooms"):
        session_reschedule(actor=host, session=session, start_at=session.start_at, room=foreign)
    session.refresh_from_db()
    assert session.room is None


def test_moving_a_series_without_choosing_a_room_keeps_each_sessions_own_room(client, host, rooms):
    from sessions_app.services import ParticipantDetails, session_schedule

    room_a, room_b = rooms
    day = (timezone.now().astimezone(host.zone) + timedelta(days=3)).date()
    first = session_schedule(
        actor=host,
        host=host,
        title="Series",
        start_at=local_to_utc(day, time(10), host.time_zone),
        duration_minutes=50,
        participants=[ParticipantDetails(name="Pat", invite_method="none", time_zone="Europe/London")],
        room=room_a,
        repeat=RepeatRule(frequency="weekly", count=3),
    )
    later = list(first.series.sessions.order_by("start_at"))
    Session.objects.filter(pk=later[2].pk).update(room=room_b)
    client.force_login(host)

    response = client.post(
        url("reschedule", first),
        {"date": day.isoformat(), "time": "11:00", "room": room_a.pk, "scope": FOLLOWING},
    )

    assert response.status_code == 302
    assert [s.room for s in first.series.sessions.order_by("start_at")] == [room_a, room_a, room_b]
    assert [s.start_at.astimezone(host.zone).hour for s in first.series.sessions.order_by("start_at")] == [
        11,
        11,
        11,
    ]


# 2. A no-show is visible at once ----------------------------------------------------------------------------


@pytest.fixture
def started(host):
    start = timezone.now() - timedelta(minutes=10)
    session = SessionFactory(host=host, title="Started", start_at=start)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    return session


def test_a_session_marked_no_show_says_so_on_its_page_and_the_dashboard_before_it_ends(client, host, started):
    client.force_login(host)
    response = client.post(url("no_show", started), {"whole_session": "on"})
    assert response.status_code == 302

    page = client.get(url("detail", started)).content.decode()
    dashboard = client.get(reverse("sessions:dashboard")).content.decode()
    assert 'id="session-status">No-show<' in page and "No-show: nobody came" in page
    row = dashboard.split(f'data-session-id="{started.pk}"')[1].split("list-group-item")[0]
    assert "No-show</span>" in row
    calendar = client.get(reverse("sessions:calendar")).content.decode()
    assert 'calendar-no-show">No-show</span>' in calendar


def test_a_participant_marked_no_show_has_the_badge_on_the_session_page(client, host, started):
    pat = started.participants.get()
    ParticipantFactory(session=started, name="Sam", email="sam@example.test")
    client.force_login(host)
    client.post(url("no_show", started), {"participants": [pat.pk]})
    page = client.get(url("detail", started)).content.decode()
    assert 'class="badge text-bg-warning">No-show</span>' in page
    # The session itself is not a no-show: only Pat did not come.
    assert 'id="session-status">Scheduled<' in page


def test_nobody_came_while_someone_joined_asks_for_confirmation(client, host, started):
    started.participants.update(joined_at=timezone.now())
    client.force_login(host)

    refused = client.post(url("no_show", started), {"whole_session": "on"})
    assert refused.status_code == 200
    assert "Pat joined this session" in refused.content.decode()
    started.refresh_from_db()
    assert not started.no_show

    confirmed = client.post(url("no_show", started), {"whole_session": "on", "confirm_joined": "on"})
    assert confirmed.status_code == 302
    started.refresh_from_db()
    assert started.no_show


# 8. Connect is offered when it can work ---------------------------------------------------------------------


def test_connect_is_not_offered_months_ahead_and_the_page_says_when_it_opens(client, host):
    far = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=90))
    client.force_login(host)
    page = client.get(url("detail", far)).content.decode()
    dashboard = client.get(reverse("sessions:dashboard")).content.decode()
    for content in (page, dashboard):
        assert url("connect", far) not in content
        assert "Connect opens" in content and "15 minutes before the start" in content


def test_connect_is_offered_from_fifteen_minutes_before_the_start_with_the_session_named(client, host):
    soon = SessionFactory(host=host, title="Intake", start_at=timezone.now() + timedelta(minutes=14))
    client.force_login(host)
    page = client.get(url("detail", soon)).content.decode()
    assert url("connect", soon) in page and "Connect opens" not in page
    assert '<span class="visually-hidden"> to Intake at' in page


# 12. The room shows on the session page and dashboard ----------------------------------------------------


def test_the_room_is_on_the_session_page_and_the_dashboard(client, host, session, rooms):
    Session.objects.filter(pk=session.pk).update(room=rooms[0])
    client.force_login(host)
    assert 'id="session-room">Room A<' in client.get(url("detail", session)).content.decode()
    assert "Room: Room A" in client.get(reverse("sessions:dashboard")).content.decode()


# 13. Times in the notices table carry their zone -----------------------------------------------------------


def test_sent_times_in_the_notices_table_carry_the_zone(client, host, session):
    notice = Notification.objects.create(
        organization=session.organization,
        session=session,
        participant=session.participants.get(),
        kind=Notification.Kind.INVITE,
        channel=Notification.Channel.EMAIL,
        recipient="pat@example.test",
        send_at=timezone.now(),
    )
    Notification.objects.filter(pk=notice.pk).update(status=Notification.Status.SENT, sent_at=timezone.now())
    client.force_login(host)
    page = client.get(url("detail", session)).content.decode()
    zone = timezone.now().astimezone(host.zone).tzname()
    log = page.split('id="notices-log"')[1]
    assert f"{timezone.now().astimezone(host.zone):%H}:" in log and f" {zone}</td>" in log


# 7. One rule for the zone a scheduler types in --------------------------------------------------------------


def test_the_banner_of_a_scheduler_in_another_zone_says_which_zone_is_shown_and_which_is_typed(
    client, host, scheduler, session
):
    scheduler.time_zone = "America/New_York"
    scheduler.save(update_fields=["time_zone"])
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))

    page = client.get(url("reschedule", session)).content.decode()

    assert "times shown in your zone (America/New_York)" in page
    assert f"times you type are in {host.full_name}'s zone (Europe/London)" in page
    assert "In Europe/London, the host's time zone." in page
