from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEvent, Membership
from config.errors import PermissionDeniedError, ValidationFailedError
from notifications.models import Notification
from sessions_app.availability import availability_for
from sessions_app.join.links import join_token, participant_for_token
from sessions_app.models import BlockedSlot, Participant, Room, Session, WorkingHours
from sessions_app.services import (
    FOLLOWING,
    ParticipantDetails,
    RepeatRule,
    participant_add,
    participant_remind,
    participant_remove,
    participant_update,
    session_cancel,
    session_change_end,
    session_mark_no_show,
    session_reassign,
    session_remove,
    session_reschedule,
    session_schedule,
    session_schedule_next,
)
from tests.factories import member

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def _person(name="Maria Garcia", **overrides):
    values = {"name": name, "invite_method": "email", "email": f"{name.split()[0].lower()}@example.test"}
    values.update({"time_zone": "Europe/Madrid", **overrides})
    return ParticipantDetails(**values)


def _book(host, start, *, actor=None, people=None, minutes=50, **kwargs):
    return session_schedule(
        actor=actor or host,
        host=host,
        title="Therapy",
        start_at=start,
        duration_minutes=minutes,
        participants=people or [_person()],
        **kwargs,
    )


def _notices(session, kind):
    return list(Notification.objects.filter(session=session, kind=kind).order_by("id"))


# --- Reschedule ---------------------------------------------------------------------------------------


def test_reschedule_moves_the_session_bumps_the_calendar_sequence_and_notifies_with_old_time_and_reason(host):
    session = _book(host, NOW + timedelta(days=2))
    old_start = session.start_at
    participant = session.participants.get()
    token = join_token(participant)

    session_reschedule(actor=host, session=session, start_at=NOW + timedelta(days=3), reason="Host unwell")

    session.refresh_from_db()
    assert session.start_at == NOW + timedelta(days=3)
    assert session.end_at == session.start_at + timedelta(minutes=50)
    assert session.calendar_sequence == 1
    [notice] = _notices(session, "reschedule")
    assert notice.context == {"old_start": old_start.isoformat(), "reason": "Host unwell"}
    # The link keeps working, with the new window.
    assert participant_for_token(token) == participant
    # Reminders were re-planned for the new start and the old ones withdrawn.
    pending = Notification.objects.filter(session=session, kind="reminder", status="pending")
    assert sorted(n.send_at for n in pending) == [
        session.start_at - timedelta(hours=24),
        session.start_at - timedelta(hours=1),
    ]
    assert Notification.objects.filter(session=session, kind="reminder", status="withdrawn").count() == 2
    assert AuditEvent.objects.filter(action="session.reschedule", object_id=str(session.pk)).exists()


def test_reschedule_without_notifying_sends_no_notice(host):
    session = _book(host, NOW + timedelta(days=2))
    session_reschedule(actor=host, session=session, start_at=NOW + timedelta(days=3), notify=False)
    assert _notices(session, "reschedule") == []


def test_reschedule_of_a_live_session_is_refused(host):
    session = _book(host, NOW + timedelta(minutes=2))
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE)
    with pytest.raises(ValidationFailedError, match="connected"):
        session_reschedule(actor=host, session=session, start_at=NOW + timedelta(days=1))


def test_reschedule_over_the_hosts_own_session_is_refused(host):
    first = _book(host, NOW + timedelta(days=1))
    second = _book(host, NOW + timedelta(days=2))
    with pytest.raises(ValidationFailedError, match="Overlaps"):
        session_reschedule(actor=host, session=second, start_at=first.start_at + timedelta(minutes=30))
    second.refresh_from_db()
    assert second.start_at == NOW + timedelta(days=2)


def test_reschedule_over_a_blocked_slot_or_outside_working_hours_is_allowed(host):
    session = _book(host, NOW + timedelta(days=1))
    target = NOW + timedelta(days=2)
    BlockedSlot.objects.create(
        host=host, start_at=target, end_at=target + timedelta(hours=3), note="Conference"
    )
    answer = availability_for(viewer=host, host=host, start_at=target, end_at=target + timedelta(minutes=50))
    assert answer.status == "host_unavailable" and answer.may_save
    session_reschedule(actor=host, session=session, start_at=target)
    session.refresh_from_db()
    assert session.start_at == target


def test_room_cannot_be_double_booked(host, other_host):
    room = Room.objects.create(organization=host.organization, name="Room 1")
    _book(host, NOW + timedelta(days=1), room=room)
    answer = availability_for(
        viewer=other_host,
        host=other_host,
        start_at=NOW + timedelta(days=1),
        end_at=NOW + timedelta(days=1, hours=1),
        room=room,
    )
    assert answer.status == "room_unavailable" and not answer.may_save
    # The session in the room is the host's, which their colleague may not open: only "busy" is said.
    with pytest.raises(ValidationFailedError, match="room is busy"):
        _book(other_host, NOW + timedelta(days=1, minutes=10), room=room)


def test_availability_answers_slot_available_inside_working_hours(host):
    # 1 December 2026 is a Tuesday; London is on UTC in winter.
    WorkingHours.objects.create(host=host, weekday=1, start_time=time(9), end_time=time(17))
    inside = availability_for(
        viewer=host, host=host, start_at=NOW + timedelta(hours=1), end_at=NOW + timedelta(hours=2)
    )
    outside = availability_for(
        viewer=host, host=host, start_at=NOW + timedelta(hours=9), end_at=NOW + timedelta(hours=10)
    )
    assert inside.label == "Slot available"
    assert outside.label == "Host is not available"
    assert outside.reasons("Europe/London") == ["Outside the host's working hours"]


# --- Cancel and remove --------------------------------------------------------------------------------


def test_cancel_frees_the_slot_withdraws_reminders_and_notifies_with_the_reason(host):
    session = _book(host, NOW + timedelta(days=2))
    session_cancel(actor=host, session=session, reason="Family emergency")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED and session.cancel_reason == "Family emergency"
    [notice] = _notices(session, "cancellation")
    assert notice.context == {"reason": "Family emergency"}
    assert not Notification.objects.filter(session=session, kind="reminder", status="pending").exists()
    assert availability_for(viewer=host, host=host, start_at=session.start_at, end_at=session.end_at).may_save


@pytest.mark.parametrize(
    ("minutes_after_start", "allowed"),
    [(-10, "cancel"), (5, "cancel"), (6, "remove"), (60, "remove")],
)
def test_cancel_after_five_minutes_becomes_remove(host, minutes_after_start, allowed):
    session = _book(host, NOW + timedelta(minutes=10))
    with time_machine.travel(session.start_at + timedelta(minutes=minutes_after_start), tick=False):
        if allowed == "cancel":
            with pytest.raises(ValidationFailedError, match="cancel the session instead"):
                session_remove(actor=host, session=session)
            session_cancel(actor=host, session=session)
            assert Session.objects.get(pk=session.pk).status == Session.Status.CANCELLED
        else:
            with pytest.raises(ValidationFailedError, match="remove it instead"):
                session_cancel(actor=host, session=session)
            session_remove(actor=host, session=session)
            assert Session.objects.get(pk=session.pk).status == Session.Status.REMOVED
            assert _notices(session, "cancellation") == []


# --- Schedule next, change end, no-show, reassign -----------------------------------------------------


def test_schedule_next_copies_participants_and_settings_and_sends_invites(host):
    session = _book(
        host,
        NOW + timedelta(days=1),
        people=[_person(), _person("Tom Becker", invite_method="sms", email="", phone="+447911123456")],
    )
    following = session_schedule_next(
        actor=host, session=session, start_at=session.start_at + timedelta(days=7)
    )
    assert following.pk != session.pk
    assert following.start_at == session.start_at + timedelta(days=7)
    assert following.duration_minutes == session.duration_minutes and following.title == session.title
    assert [(p.name, p.invite_method, p.contact_id) for p in following.participants.all()] == [
        (p.name, p.invite_method, p.contact_id) for p in session.participants.all()
    ]
    assert len(_notices(following, "invite")) == 2
    # Each session has its own join links.
    assert set(following.participants.values_list("public_id", flat=True)).isdisjoint(
        session.participants.values_list("public_id", flat=True)
    )


def test_change_end_extends_and_notifies_participants_of_the_new_end(host):
    session = _book(host, NOW + timedelta(days=1))
    old_end = session.end_at
    session_change_end(actor=host, session=session, end_at=old_end + timedelta(minutes=30))
    session.refresh_from_db()
    assert session.duration_minutes == 80 and session.end_at == old_end + timedelta(minutes=30)
    [notice] = _notices(session, "end_changed")
    assert notice.context == {"old_end": old_end.isoformat()}


def test_change_end_into_the_next_session_is_refused(host):
    session = _book(host, NOW + timedelta(days=1))
    _book(host, NOW + timedelta(days=1, hours=1))
    with pytest.raises(ValidationFailedError, match="Overlaps"):
        session_change_end(actor=host, session=session, end_at=session.start_at + timedelta(minutes=90))


def test_no_show_only_after_the_start_and_whole_session_is_kept_as_no_show(host):
    session = _book(host, NOW + timedelta(minutes=30), people=[_person(), _person("Tom Becker")])
    maria, tom = session.participants.all()
    with pytest.raises(ValidationFailedError, match="started"):
        session_mark_no_show(actor=host, session=session, participant_ids=[maria.pk])
    with time_machine.travel(NOW + timedelta(minutes=40), tick=False):
        session_mark_no_show(actor=host, session=session, participant_ids=[maria.pk])
        session.refresh_from_db()
        assert not session.no_show
        session_mark_no_show(actor=host, session=session, participant_ids=[tom.pk])
    session.refresh_from_db()
    assert session.no_show and session.outcome == "No-show"
    assert session.status != Session.Status.CANCELLED


def test_reassign_moves_the_session_emails_the_new_host_and_keeps_links(host, other_host):
    session = _book(host, NOW + timedelta(days=1))
    participant = session.participants.get()
    token = join_token(participant)
    session_reassign(actor=host, session=session, new_host=other_host)
    session.refresh_from_db()
    assert session.host == other_host
    [notice] = Notification.objects.filter(kind="host_reassigned")
    assert notice.recipient == other_host.email and notice.host == other_host
    assert participant_for_token(token) == participant
    event = AuditEvent.objects.get(action="session.reassign")
    assert event.details == {"previous_host": host.pk, "new_host": other_host.pk}


def test_reassign_is_refused_for_a_live_session_and_for_a_host_of_another_organisation(host, other_host):
    session = _book(host, NOW + timedelta(days=1))
    stranger = member(role=Membership.Role.HOST)
    with pytest.raises(PermissionDeniedError):
        session_reassign(actor=host, session=session, new_host=stranger)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE)
    with pytest.raises(ValidationFailedError, match="connected"):
        session_reassign(actor=host, session=session, new_host=other_host)


def test_reassign_to_a_host_with_an_overlapping_session_is_refused(host, other_host):
    session = _book(host, NOW + timedelta(days=1))
    _book(other_host, NOW + timedelta(days=1, minutes=20))
    with pytest.raises(ValidationFailedError, match="Busy with another session"):
        session_reassign(actor=host, session=session, new_host=other_host)


def test_actions_by_a_scheduler_of_another_organisation_are_refused(host, outsider_scheduler):
    session = _book(host, NOW + timedelta(days=1))
    for action in (
        lambda: session_reschedule(
            actor=outsider_scheduler, session=session, start_at=NOW + timedelta(days=2)
        ),
        lambda: session_cancel(actor=outsider_scheduler, session=session),
        lambda: participant_remove(actor=outsider_scheduler, participant=session.participants.get()),
    ):
        with pytest.raises(PermissionDeniedError):
            action()
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_scheduler_actions_record_the_host_acted_for(scheduler, host):
    session = _book(host, NOW + timedelta(days=1), actor=scheduler)
    session_reschedule(actor=scheduler, session=session, start_at=NOW + timedelta(days=2))
    event = AuditEvent.objects.get(action="session.reschedule")
    assert (event.actor, event.acting_for) == (scheduler, host)


# --- Series ---------------------------------------------------------------------------------------------


def test_weekly_series_keeps_the_local_time_across_the_dst_change(host):
    host.time_zone = "America/New_York"
    host.save(update_fields=["time_zone"])
    # 10:00 New York on Mondays, from 1 March 2027 over the 14 March change to summer time.
    first = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    session = _book(host, first, repeat=RepeatRule(frequency="weekly", count=4))
    starts = list(
        Session.objects.filter(series=session.series).order_by("start_at").values_list("start_at", flat=True)
    )
    assert [s.astimezone(host.zone).strftime("%a %d %H:%M %Z") for s in starts] == [
        "Mon 01 10:00 EST",
        "Mon 08 10:00 EST",
        "Mon 15 10:00 EDT",
        "Mon 22 10:00 EDT",
    ]
    # One invite per participant for the whole series, listing every date.
    [invite] = Notification.objects.filter(kind="invite")
    assert len(invite.context["occurrences"]) == 4


def test_monthly_series_until_a_date_clamps_to_the_month_end(host):
    session = _book(
        host,
        datetime(2027, 1, 31, 10, 0, tzinfo=UTC),
        repeat=RepeatRule(frequency="monthly", until=date(2027, 4, 30)),
    )
    days = [s.start_at.date() for s in Session.objects.filter(series=session.series).order_by("start_at")]
    assert days == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_series_this_and_following_reschedule_moves_later_ones_and_sends_one_notice_per_person(host):
    first = _book(
        host,
        NOW + timedelta(days=1),
        repeat=RepeatRule(frequency="weekly", count=4),
        people=[_person(), _person("Tom Becker")],
    )
    occurrences = list(Session.objects.filter(series=first.series).order_by("start_at"))
    second = occurrences[1]
    session_reschedule(
        actor=host, session=second, start_at=second.start_at + timedelta(hours=2), scope=FOLLOWING
    )
    moved = list(Session.objects.filter(series=first.series).order_by("start_at"))
    assert moved[0].start_at == occurrences[0].start_at
    assert [s.start_at for s in moved[1:]] == [s.start_at + timedelta(hours=2) for s in occurrences[1:]]
    notices = Notification.objects.filter(kind="reschedule")
    assert notices.count() == 2
    assert all(len(n.context["occurrences"]) == 3 for n in notices)


def test_series_this_and_following_cancel(host):
    first = _book(host, NOW + timedelta(days=1), repeat=RepeatRule(frequency="biweekly", count=3))
    occurrences = list(Session.objects.filter(series=first.series).order_by("start_at"))
    session_cancel(actor=host, session=occurrences[1], scope=FOLLOWING, reason="Moving away")
    statuses = [s.status for s in Session.objects.filter(series=first.series).order_by("start_at")]
    assert statuses == ["scheduled", "cancelled", "cancelled"]
    [notice] = Notification.objects.filter(kind="cancellation")
    assert len(notice.context["occurrences"]) == 2


def test_a_series_that_would_overlap_an_existing_session_is_refused_whole(host):
    _book(host, NOW + timedelta(days=15))
    with pytest.raises(ValidationFailedError, match="Overlaps"):
        _book(host, NOW + timedelta(days=1), repeat=RepeatRule(frequency="weekly", count=4))
    assert Session.objects.count() == 1


# --- Participants ----------------------------------------------------------------------------------------


def test_add_participant_makes_a_contact_and_sends_the_invite(host):
    session = _book(host, NOW + timedelta(days=2))
    participant = participant_add(
        actor=host, session=session, details=_person("Li Wei", time_zone="Australia/Sydney")
    )
    assert participant.contact.name == "Li Wei"
    assert [n.recipient for n in _notices(session, "invite")][-1] == "li@example.test"
    assert Notification.objects.filter(participant=participant, kind="reminder").count() == 2


def test_edit_participant_updates_the_linked_contact_and_replans_reminders(host):
    session = _book(host, NOW + timedelta(days=2))
    participant = session.participants.get()
    participant_update(
        actor=host,
        participant=participant,
        invite_method="sms",
        email="",
        phone="+447911123456",
        time_zone="Asia/Kolkata",
    )
    participant.refresh_from_db()
    participant.contact.refresh_from_db()
    assert participant.invite_method == "sms" and participant.contact.preferred_method == "sms"
    assert (
        str(participant.contact.phone) == "+447911123456" and participant.contact.time_zone == "Asia/Kolkata"
    )
    pending = Notification.objects.filter(participant=participant, kind="reminder", status="pending")
    assert {n.channel for n in pending} == {"sms"}


def test_remind_is_throttled_to_once_a_minute(host):
    session = _book(host, NOW + timedelta(days=2))
    participant = session.participants.get()
    participant_remind(actor=host, participant=participant)
    with pytest.raises(ValidationFailedError, match="less than a minute"):
        participant_remind(actor=host, participant=participant)
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        participant_remind(actor=host, participant=participant)
    assert Notification.objects.filter(participant=participant, kind="remind").count() == 2


def test_remove_participant_revokes_the_link_at_once_and_tells_them(host):
    session = _book(host, NOW + timedelta(days=2), people=[_person(), _person("Tom Becker")])
    maria = session.participants.first()
    token = join_token(maria)
    participant_remove(actor=host, participant=maria)
    assert participant_for_token(token) is None
    maria.refresh_from_db()
    assert maria.removed_at is not None
    assert [n.kind for n in Notification.objects.filter(participant=maria, status="pending")] == [
        "participant_removed"
    ]
    assert Notification.objects.filter(participant=maria, kind="reminder", status="withdrawn").count() == 2


def test_removed_participant_with_no_messages_is_not_told(host):
    session = _book(
        host, NOW + timedelta(days=2), people=[_person("Kim Lee", invite_method="none", email="")]
    )
    participant_remove(actor=host, participant=session.participants.get())
    assert not Notification.objects.filter(kind="participant_removed").exists()


def test_participant_name_under_two_characters_is_refused(host):
    session = _book(host, NOW + timedelta(days=2))
    with pytest.raises(ValidationFailedError):
        participant_add(actor=host, session=session, details=_person("K"))
    assert Participant.objects.count() == 1


def test_reminder_already_past_at_booking_is_not_planned(host):
    session = _book(host, NOW + timedelta(minutes=30))
    assert not Notification.objects.filter(session=session, kind="reminder").exists()
    later = _book(host, NOW + timedelta(hours=5))
    assert [n.send_at for n in Notification.objects.filter(session=later, kind="reminder")] == [
        later.start_at - timedelta(hours=1)
    ]


def test_times_are_compared_in_utc_regardless_of_input_zone(host):
    start = timezone.make_aware(datetime(2026, 12, 2, 10, 0), timezone=host.zone)
    session = _book(host, start)
    assert session.start_at == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_a_series_longer_than_52_sessions_is_refused_not_cut(host):
    with pytest.raises(ValidationFailedError, match="more than 52"):
        _book(host, NOW + timedelta(days=1), repeat=RepeatRule(frequency="weekly", until=date(2028, 12, 31)))
    with pytest.raises(ValidationFailedError, match="at most 52"):
        _book(host, NOW + timedelta(days=1), repeat=RepeatRule(frequency="weekly", count=53))
    assert not Session.objects.exists()


def test_participants_of_a_cancelled_session_cannot_be_edited(host):
    session = _book(host, NOW + timedelta(days=2))
    session_cancel(actor=host, session=session)
    with pytest.raises(ValidationFailedError, match="cancelled"):
        participant_update(
            actor=host,
            participant=session.participants.get(),
            invite_method="email",
            email="new@example.test",
            phone="",
            time_zone="UTC",
        )
    assert (
        not Notification.objects.filter(session=session, status="pending")
        .exclude(kind="cancellation")
        .exists()
    )
