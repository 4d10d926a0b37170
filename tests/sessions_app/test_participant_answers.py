"""A participant answers for themselves through their join link (issue 13): Confirm, Cancel (until the
organisation's cancellation window, worked out across daylight-saving changes), Ask for another time; the
host is told, sees the answers on the dashboard, the session page and the history, and every answer is
audited with the participant, not an account, behind it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from config.errors import ValidationFailedError
from contacts.models import InviteMethod
from notifications.models import Notification
from notifications.services import notices_deliver_due
from sessions_app.join.links import join_token, participant_for_token
from sessions_app.models import Answer, Outcome, Session
from sessions_app.services import (
    ParticipantDetails,
    cancel_deadline,
    participant_ask_another_time,
    participant_cancel_self,
    participant_confirm,
    participant_request_done,
    session_reschedule,
    session_schedule,
)

pytestmark = pytest.mark.django_db

# The last Sunday of March 2027: London's clocks go forward at 01:00 UTC. 10:00 BST is 09:00 UTC, and "24
# hours before" on the host's clock is Saturday 10:00 GMT (10:00 UTC): 23 hours of elapsed time.
SPRING_START = datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
SPRING_DEADLINE = datetime(2027, 3, 27, 10, 0, tzinfo=UTC)
# The last Sunday of October 2026: the clocks go back at 01:00 UTC. 10:00 GMT is 10:00 UTC, and Saturday
# 10:00 BST is 09:00 UTC: 25 hours before.
AUTUMN_START = datetime(2026, 10, 25, 10, 0, tzinfo=UTC)
AUTUMN_DEADLINE = datetime(2026, 10, 24, 9, 0, tzinfo=UTC)


def _person(name: str, **fields) -> ParticipantDetails:
    return ParticipantDetails(
        name=name,
        invite_method=fields.pop("invite_method", InviteMethod.EMAIL),
        email=fields.pop("email", f"{name.lower()}@example.test"),
        time_zone=fields.pop("time_zone", "Europe/Madrid"),
        **fields,
    )


def _schedule(host, start_at, *names, title="Therapy"):
    # Booked a week ahead, so the invite and both reminders (24 hours and 1 hour before) are planned.
    with time_machine.travel(start_at - timedelta(days=7), tick=False):
        return session_schedule(
            actor=host,
            host=host,
            title=title,
            start_at=start_at,
            duration_minutes=50,
            participants=[_person(name) for name in names or ("Maria",)],
        )


def _participant(session, name="Maria"):
    return session.participants.get(name=name)


def _reminders(participant, status=Notification.Status.PENDING):
    return Notification.objects.filter(
        participant=participant, kind=Notification.Kind.REMINDER, status=status
    ).count()


def _host_notices(session, kind):
    return list(Notification.objects.filter(session=session, host__isnull=False, kind=kind))


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# The window, across daylight-saving changes ---------------------------------------------------------------


def test_the_cancel_deadline_is_the_same_wall_clock_time_the_day_before_in_the_hosts_zone(host):
    spring = _schedule(host, SPRING_START)
    autumn = _schedule(host, AUTUMN_START, title="Autumn")
    assert cancel_deadline(spring) == SPRING_DEADLINE
    assert cancel_deadline(autumn) == AUTUMN_DEADLINE
    host.organization.cancellation_window_hours = 30
    host.organization.save()
    spring = Session.objects.select_related("organization", "host").get(pk=spring.pk)
    # One day on the clock, then six hours of elapsed time.
    assert cancel_deadline(spring) == SPRING_DEADLINE - timedelta(hours=6)


def test_cancel_just_inside_the_window_over_the_spring_change_cancels_the_only_participants_session(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    assert _reminders(maria) == 2

    # 23.5 hours before the start: more than 24 on nobody's clock, yet before Saturday 10:00 in London.
    with time_machine.travel(SPRING_DEADLINE - timedelta(minutes=30), tick=False):
        participant_cancel_self(participant=maria, reason="I have the flu")

    session.refresh_from_db()
    maria.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    assert session.cancelled_by_participant and session.outcome == "Cancelled by participant"
    assert session.cancel_reason == "I have the flu"
    assert maria.answer == Answer.CANCELLED and maria.answer_message == "I have the flu"
    assert maria.removed_at is None  # the session went, not their place in it
    assert _reminders(maria) == 0
    assert _reminders(maria, Notification.Status.WITHDRAWN) == 2
    # They get the cancellation (its calendar file takes the event out of their calendar); the host an email.
    assert Notification.objects.filter(participant=maria, kind=Notification.Kind.CANCELLATION).count() == 1
    [told] = _host_notices(session, Notification.Kind.PARTICIPANT_CANCELLED)
    assert told.recipient == host.email
    assert told.context["participant_name"] == "Maria" and told.context["session_cancelled"] is True
    [answer] = _events("participant.cancel")
    assert answer.actor is None and answer.acting_for == host
    assert answer.details["participant"] == maria.pk and answer.details["via"] == "link"
    [cancel] = _events("session.cancel")
    assert cancel.actor is None and cancel.details["participant"] == maria.pk


def test_cancel_at_the_deadline_over_the_spring_change_is_refused_and_changes_nothing(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)

    with time_machine.travel(SPRING_DEADLINE, tick=False), pytest.raises(ValidationFailedError) as refused:
        participant_cancel_self(participant=maria, reason="Late")

    assert refused.value.message == (
        f"Cancelling within 24 hours of the start is not possible here; please contact {host.full_name} "
        "directly."
    )
    session.refresh_from_db()
    maria.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED and maria.answer == ""
    assert _reminders(maria) == 2
    assert not _events("participant.cancel")


def test_over_the_autumn_change_the_window_starts_25_hours_before(host):
    session = _schedule(host, AUTUMN_START)
    maria = _participant(session)

    # 24.5 hours before the start, yet after Saturday 10:00 BST.
    with (
        time_machine.travel(AUTUMN_DEADLINE + timedelta(minutes=30), tick=False),
        pytest.raises(ValidationFailedError),
    ):
        participant_cancel_self(participant=maria)
    with time_machine.travel(AUTUMN_DEADLINE - timedelta(minutes=1), tick=False):
        participant_cancel_self(participant=maria)

    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED


def test_cancelling_with_others_on_the_session_takes_only_them_off_and_tells_them_nothing_more(host):
    session = _schedule(host, SPRING_START, "Maria", "Jon")
    maria, jon = _participant(session), _participant(session, "Jon")
    token = join_token(maria)

    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_cancel_self(participant=maria, reason="Moving away")

    session.refresh_from_db()
    maria.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED
    assert maria.removed_at is not None and maria.answer == Answer.CANCELLED
    assert participant_for_token(token) is None
    assert _reminders(maria) == 0 and _reminders(jon) == 2
    assert not Notification.objects.filter(
        participant=maria, kind__in=[Notification.Kind.REMOVED, Notification.Kind.CANCELLATION]
    ).exists()
    [told] = _host_notices(session, Notification.Kind.PARTICIPANT_CANCELLED)
    assert told.context["session_cancelled"] is False


def test_an_organisation_may_keep_the_session_when_its_only_participant_cancels(host):
    host.organization.participant_cancel_cancels_session = False
    host.organization.save()
    session = _schedule(host, SPRING_START)
    maria = _participant(session)

    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_cancel_self(participant=maria)

    session.refresh_from_db()
    maria.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED and maria.removed_at is not None
    assert _host_notices(session, Notification.Kind.PARTICIPANT_CANCELLED)


def test_the_hosts_email_about_a_cancel_goes_out_although_the_session_is_cancelled(host):
    session = _schedule(host, SPRING_START)
    with time_machine.travel(SPRING_START - timedelta(days=2), tick=False):
        participant_cancel_self(participant=_participant(session), reason="Flu & fever")
        notices_deliver_due()

    [email] = [m for m in mail.outbox if m.to == [host.email]]
    assert email.subject.startswith("Maria cancelled: Therapy")
    assert "Their reason: Flu & fever" in email.body
    assert "the session is cancelled and the time is free again" in email.body
    # In the host's zone: 10:00 BST on the day.
    assert "Sunday 28 March 2027, 10:00 BST (Europe/London)" in email.body


# Confirm and ask for another time -------------------------------------------------------------------------


def test_confirm_is_recorded_once_and_audited_with_the_participant_behind_it(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(hours=2), tick=False):
        participant_confirm(participant=maria)
        participant_confirm(participant=maria)

    maria.refresh_from_db()
    assert maria.answer == Answer.CONFIRMED and maria.current_answer == Answer.CONFIRMED
    [event] = _events("participant.confirm")
    assert event.actor is None and event.details == {"participant": maria.pk, "name": "Maria", "via": "link"}
    # Confirming inside the cancellation window is fine; after the start it is too late.
    with time_machine.travel(SPRING_START, tick=False), pytest.raises(ValidationFailedError):
        participant_confirm(participant=maria)


def test_a_confirmation_is_for_the_time_confirmed_so_a_reschedule_asks_for_it_again(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_confirm(participant=maria)
        session_reschedule(actor=host, session=session, start_at=SPRING_START + timedelta(days=1))
    maria = _participant(Session.objects.get(pk=session.pk))
    assert maria.answer == Answer.CONFIRMED and maria.current_answer == ""


def test_asking_for_another_time_tells_the_host_until_they_mark_it_done(host, scheduler):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(hours=3), tick=False):
        # Inside the cancellation window, asking is still possible.
        participant_ask_another_time(participant=maria, message="  Could we do Tuesday?  ")
        maria = _participant(Session.objects.get(pk=session.pk))
        assert maria.current_answer == Answer.ASKED_TIME
        assert maria.answer_message == "Could we do Tuesday?"
        [told] = _host_notices(session, Notification.Kind.PARTICIPANT_ASKED_TIME)
        assert told.context["message"] == "Could we do Tuesday?"

        participant_request_done(actor=scheduler, participant=maria)
        maria = _participant(Session.objects.get(pk=session.pk))
        assert maria.current_answer == "" and maria.answer == Answer.ASKED_TIME
        with pytest.raises(ValidationFailedError):
            participant_request_done(actor=scheduler, participant=maria)

    [asked] = _events("participant.ask_time")
    assert asked.actor is None and asked.details["message"] == "Could we do Tuesday?"
    [done] = _events("participant.request_done")
    assert done.actor == scheduler and done.acting_for == host


def test_a_reschedule_settles_a_request_for_another_time(host):
    session = _schedule(host, SPRING_START)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_ask_another_time(participant=_participant(session), message="Later in the day?")
        session_reschedule(actor=host, session=session, start_at=SPRING_START + timedelta(hours=6))
    assert _participant(Session.objects.get(pk=session.pk)).current_answer == ""


def test_asking_needs_a_message_and_no_answer_is_taken_after_the_start_or_once_cancelled(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with (
        time_machine.travel(SPRING_START - timedelta(days=3), tick=False),
        pytest.raises(ValidationFailedError),
    ):
        participant_ask_another_time(participant=maria, message="   ")
    with (
        time_machine.travel(SPRING_START + timedelta(minutes=1), tick=False),
        pytest.raises(ValidationFailedError),
    ):
        participant_ask_another_time(participant=maria, message="Another day")
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_cancel_self(participant=maria)
        with pytest.raises(ValidationFailedError):
            participant_confirm(participant=maria)
    assert not _events("participant.ask_time")


# The participant's page -----------------------------------------------------------------------------------


def _enter(participant) -> Client:
    client = Client(enforce_csrf_checks=False)
    assert client.get(reverse("join:enter", kwargs={"token": join_token(participant)})).status_code == 302
    return client


def test_the_page_confirms_and_then_says_so_in_the_participants_zone(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=2), tick=False):
        client = _enter(maria)
        page = client.get(reverse("join:lobby"))
        assert page["Referrer-Policy"] == "same-origin"
        assert reverse("join:confirm") in page.content.decode()
        response = client.post(reverse("join:confirm"))
        assert response.status_code == 302 and response["Location"] == reverse("join:lobby")
        content = client.get(reverse("join:lobby")).content.decode()
    # 09:00 UTC is 11:00 in Madrid (CEST from that night on too).
    assert "Confirmed — see you on Sunday 28 March 2027, 11:00 CEST (Europe/Madrid)." in content
    assert reverse("join:confirm") not in content


def test_after_the_window_the_page_says_why_cancelling_is_not_possible(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(hours=20), tick=False):
        client = _enter(maria)
        content = client.get(reverse("join:lobby")).content.decode()
        refused = client.post(reverse("join:cancel"), {"reason": "Late"}, follow=True).content.decode()
    assert reverse("join:cancel") not in content
    assert "Cancelling within 24 hours of the start is not possible here; please contact" in content
    assert reverse("join:ask_another_time") in content
    assert "not possible here" in refused
    assert Session.objects.get(pk=session.pk).status == Session.Status.SCHEDULED


def test_cancelling_a_place_from_the_page_ends_on_a_page_that_needs_no_link(host):
    session = _schedule(host, SPRING_START, "Maria", "Jon")
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        client = _enter(maria)
        response = client.post(reverse("join:cancel"), {"reason": "Moving"})
        assert response["Location"] == reverse("join:place_cancelled")
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert "Your place on “Therapy”" in page.content.decode()
        assert client.get(reverse("join:lobby")).status_code == 404


def test_asking_from_the_page_without_a_message_keeps_the_form_open_with_the_error(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        client = _enter(maria)
        response = client.post(reverse("join:ask_another_time"), {"message": ""})
        assert response.status_code == 400
        assert "Say which times would suit you." in response.content.decode()
        client.post(reverse("join:ask_another_time"), {"message": "Any Friday"})
    assert _participant(session).answer == Answer.ASKED_TIME


def test_the_answers_need_the_participants_cookie_and_a_post(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        assert Client().post(reverse("join:confirm")).status_code == 404
        assert Client().get(reverse("join:calendar")).status_code == 404
        assert _enter(maria).get(reverse("join:confirm")).status_code == 405
    assert _participant(session).answer == ""


def test_the_calendar_download_has_the_notices_uid_and_sequence(host):
    session = _schedule(host, SPRING_START)
    maria = _participant(session)
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        session_reschedule(actor=host, session=session, start_at=SPRING_START + timedelta(days=1))
        response = _enter(maria).get(reverse("join:calendar"))
    session.refresh_from_db()
    ics = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert f"UID:{session.uid}@consultations" in ics
    assert f"SEQUENCE:{session.calendar_sequence}" in ics and session.calendar_sequence == 1
    assert "TZID=Europe/Madrid" in ics


# The host's pages -----------------------------------------------------------------------------------------


def test_the_dashboard_shows_each_answer_and_a_session_its_participant_cancelled(client, host):
    confirmed = _schedule(host, SPRING_START, "Maria", "Jon")
    asked = _schedule(host, SPRING_START + timedelta(hours=2), "Ana", title="Review")
    alone = _schedule(host, SPRING_START + timedelta(hours=4), "Lea", title="Intake")
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_confirm(participant=_participant(confirmed))
        participant_cancel_self(participant=_participant(confirmed, "Jon"), reason="Exams")
        participant_ask_another_time(participant=_participant(asked, "Ana"), message="Mornings please")
        participant_cancel_self(participant=_participant(alone, "Lea"))
        client.force_login(host)
        content = client.get(reverse("sessions:dashboard")).content.decode()
        detail = client.get(reverse("sessions:detail", kwargs={"pk": confirmed.pk})).content.decode()

    assert content.count(">Confirmed</span>") == 1
    # Jon left a session that goes on; Lea's session was cancelled, and stays in view until its time.
    assert content.count(">Cancelled by participant</span>") == 3
    assert "“Exams”" in content and f'data-session-id="{alone.pk}"' in content
    assert "Ana asks for another time:" in content and "Mornings please" in content
    done = reverse("sessions:participant_request_done", args=[asked.pk, _participant(asked, "Ana").pk])
    assert done in content
    assert ">Confirmed</span>" in detail and "<s>Jon</s>" in detail


def test_the_history_counts_the_answers_and_filters_sessions_cancelled_by_their_participant(client, host):
    kept = _schedule(host, SPRING_START, "Maria", "Jon")
    called_off = _schedule(host, SPRING_START + timedelta(hours=4), "Lea", title="Intake")
    with time_machine.travel(SPRING_START - timedelta(days=3), tick=False):
        participant_confirm(participant=_participant(kept))
        participant_ask_another_time(participant=_participant(kept, "Jon"), message="Later?")
        participant_cancel_self(participant=_participant(called_off, "Lea"))
    with time_machine.travel(SPRING_START + timedelta(days=1), tick=False):
        client.force_login(host)
        page = client.get(reverse("sessions:history")).content.decode()
        filtered = client.get(
            reverse("sessions:history"), {"outcome": Outcome.CANCELLED_BY_PARTICIPANT.value}
        ).content.decode()

    assert "Confirmed <strong>1</strong>" in page
    assert "Cancelled by participant <strong>1</strong>" in page
    assert "Asked for another time <strong>1</strong>" in page
    assert f'data-session-id="{called_off.pk}"' in filtered and f'data-session-id="{kept.pk}"' not in filtered
