"""Every notice kind renders as email (HTML and text) and as SMS within two GSM-7 segments, in its reader's
time zone with the zone's abbreviation and the date written out."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from notifications.models import Notification
from notifications.rendering import render_notice
from notifications.services import notices_deliver_due
from notifications.sms import gsm7_fold, is_gsm7, sms_length, sms_segments
from sessions_app.services import (
    ParticipantDetails,
    participant_remind,
    participant_remove,
    session_cancel,
    session_change_end,
    session_reschedule,
    session_schedule,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
LONG_TITLE = "Extended family therapy consultation – initial assessment and treatment planning session " * 2


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def long_named_host(host, settings):
    settings.SITE_URL = "https://consultations.example-clinic.com"
    host.full_name = "Dr Maximiliana Alexandra Konstantinopoulou-Wiśniewska"
    host.save(update_fields=["full_name"])
    return host


def _sms_session(host, *, title=LONG_TITLE, zone="Australia/Lord_Howe", start=None):
    return session_schedule(
        actor=host,
        host=host,
        title=title,
        start_at=start or NOW + timedelta(days=3),
        duration_minutes=50,
        participants=[
            ParticipantDetails(name="李伟 Wei", invite_method="sms", phone="+447911123456", time_zone=zone),
            ParticipantDetails(
                name="Anaïs", invite_method="email", email="anais@example.test", time_zone=zone
            ),
        ],
    )


def _every_kind(host):
    session = _sms_session(host)
    sms, email = session.participants.order_by("id")
    session = session_reschedule(
        actor=host, session=session, start_at=session.start_at + timedelta(days=1), reason="Ü" * 200
    )
    session_change_end(actor=host, session=session, end_at=session.end_at + timedelta(minutes=30))
    participant_remind(actor=host, participant=sms)
    participant_remind(actor=host, participant=email)
    participant_remove(actor=host, participant=sms)
    participant_remove(actor=host, participant=email)
    other = _sms_session(host, start=NOW + timedelta(days=5))
    session_cancel(actor=host, session=other, reason="Unwell – sorry! " * 20)
    # Removing the participants withdrew their pending notices; every row still renders as it would have.
    return Notification.objects.all()


def test_sms_of_every_kind_stays_within_two_gsm7_segments_with_long_titles_and_names(long_named_host):
    texts = {}
    for notice in _every_kind(long_named_host).filter(channel="sms"):
        text = render_notice(notice).text
        texts[notice.kind] = text
        assert is_gsm7(text), (notice.kind, text)
        assert sms_length(text)[0] <= 306, (notice.kind, len(text), text)
        assert sms_segments(text) <= 2
    assert set(texts) >= {
        "invite",
        "reminder",
        "remind",
        "reschedule",
        "end_changed",
        "participant_removed",
        "cancellation",
    }
    # The link and the time are never cut.
    assert "https://consultations.example-clinic.com/join/" in texts["invite"]
    assert (
        "LHDT" in texts["invite"]
        or "LHST" in texts["invite"]
        or "+11" in texts["invite"]
        or "+1030" in texts["invite"]
    )


def test_every_email_kind_has_html_text_and_the_right_calendar_method(long_named_host):
    notices = _every_kind(long_named_host).filter(channel="email")
    methods = {}
    for notice in notices:
        rendered = render_notice(notice)
        assert rendered.subject and rendered.text.strip() and "<p>" in rendered.html
        if rendered.attachments:
            [attachment] = rendered.attachments
            methods[notice.kind] = attachment.mimetype.split("method=")[1]
    assert methods == {
        "invite": "REQUEST",
        "reminder": "REQUEST",
        "remind": "REQUEST",
        "reschedule": "REQUEST",
        "end_changed": "REQUEST",
        "participant_removed": "CANCEL",
        "cancellation": "CANCEL",
    }


def test_reschedule_notice_shows_old_and_new_time_and_reason_in_the_participants_zone(host):
    session = session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=datetime(2026, 10, 30, 15, 0, tzinfo=UTC),
        duration_minutes=50,
        participants=[
            ParticipantDetails(
                name="Ana", invite_method="email", email="ana@example.test", time_zone="Europe/Berlin"
            )
        ],
    )
    # Berlin leaves summer time on 25 October 2026: the old time is CEST, the new one CET.
    session_reschedule(
        actor=host, session=session, start_at=datetime(2026, 10, 23, 15, 0, tzinfo=UTC), reason="Holiday"
    )
    notices_deliver_due()
    [email] = [m for m in mail.outbox if m.subject.startswith("Moved")]
    assert "Was: Friday 30 October 2026, 16:00 CET (Europe/Berlin)" in email.body
    assert "Now: Friday 23 October 2026, 17:00 CEST (Europe/Berlin)" in email.body
    assert "Reason: Holiday" in email.body


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Kolkata", "Thursday 5 November 2026, 20:30 IST (Asia/Kolkata)"),
        ("America/New_York", "Thursday 5 November 2026, 10:00 EST (America/New York)"),
        ("Europe/London", "Thursday 5 November 2026, 15:00 GMT (Europe/London)"),
        ("Australia/Lord_Howe", "Friday 6 November 2026, 02:00 +11 (Australia/Lord Howe)"),
    ],
)
def test_invite_time_in_half_hour_and_dst_zones(host, zone, expected):
    session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=datetime(2026, 11, 5, 15, 0, tzinfo=UTC),
        duration_minutes=50,
        participants=[
            ParticipantDetails(name="Ana", invite_method="email", email="ana@example.test", time_zone=zone)
        ],
    )
    notices_deliver_due()
    [email] = mail.outbox
    assert f"When: {expected}" in email.body


def test_lord_howe_half_hour_dst_shift():
    from sessions_app.timefmt import format_when

    # Lord Howe moves by 30 minutes: UTC+10:30 in winter, UTC+11 in summer (from 4 October 2026).
    assert format_when(datetime(2026, 7, 1, 0, 0, tzinfo=UTC), "Australia/Lord_Howe").endswith(
        "10:30 +1030 (Australia/Lord Howe)"
    )
    assert format_when(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "Australia/Lord_Howe").endswith(
        "11:00 +11 (Australia/Lord Howe)"
    )


def test_gsm7_fold_keeps_gsm_letters_and_drops_the_rest():
    assert gsm7_fold("Séance – “Anaïs” 李伟") == 'Séance - "Anais"'
    assert is_gsm7(gsm7_fold("Zoë Łukasz Ørsted"))


def test_segment_counting():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1  # extension characters take two units
    assert sms_segments("李" * 70) == 1 and sms_segments("李" * 71) == 2


def test_calendar_files_keep_one_uid_with_a_rising_sequence_and_the_zone(host):
    from icalendar import Calendar

    session = session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=NOW + timedelta(days=3),
        duration_minutes=50,
        participants=[
            ParticipantDetails(
                name="Ana", invite_method="email", email="ana@example.test", time_zone="Europe/Paris"
            )
        ],
    )
    notices_deliver_due()
    session = session_reschedule(actor=host, session=session, start_at=NOW + timedelta(days=4))
    notices_deliver_due()
    session_cancel(actor=host, session=session)
    notices_deliver_due()

    events = []
    for email in mail.outbox:
        [(_name, content, mimetype)] = email.attachments
        calendar = Calendar.from_ical(content)
        [event] = calendar.walk("VEVENT")
        events.append(
            (calendar["METHOD"], str(event["UID"]), int(event["SEQUENCE"]), event["DTSTART"].params["TZID"])
        )
        assert calendar.walk("VTIMEZONE")
    assert [(m, s, z) for m, _uid, s, z in events] == [
        ("REQUEST", 0, "Europe/Paris"),
        ("REQUEST", 1, "Europe/Paris"),
        ("CANCEL", 2, "Europe/Paris"),
    ]
    assert len({uid for _m, uid, _s, _z in events}) == 1
