"""The 500s of issue 8 (items 12 and 13), each pinned where it happened: a `next` that is not a URL, years
at the ends of the calendar, reminder leads too large for a timedelta, autocomplete queries the database
cannot take, and email subjects written as HTML."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from config.errors import ValidationFailedError
from contacts.selectors import contacts_matching
from notifications.services import notices_deliver_due
from sessions_app.models import BlockedSlot, Participant, Session
from sessions_app.services import (
    ParticipantDetails,
    RepeatRule,
    blocked_slot_add,
    reminder_settings_update,
    session_reschedule,
    session_schedule,
    session_schedule_next,
)
from tests.factories import PASSWORD, ContactFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

FAR_DATES = ["9999-12-31", "0001-01-01"]
# Behind UTC the last day of 9999 overflows on its way to UTC; ahead of it, the first day of year 1 does.
FAR_ZONES = ["America/New_York", "Asia/Tokyo"]


@pytest.fixture
def session(host):
    start = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    session = SessionFactory(host=host, title="Weekly review", start_at=start)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    return session


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


def _in_zone(host, zone):
    host.time_zone = zone
    host.save(update_fields=["time_zone"])
    return host


def _person() -> dict:
    return {
        "name": "Kim New",
        "invite_method": "email",
        "email": "kim@example.test",
        "phone": "",
        "time_zone": "Europe/London",
        "contact_id": "",
    }


def _schedule_data(day: str) -> dict:
    return {
        "title": "Therapy",
        "date": day,
        "time": "23:30",
        "duration_minutes": "50",
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "1",
        "participants-MAX_NUM_FORMS": "20",
        **{f"participants-0-{name}": value for name, value in _person().items()},
    }


# Item 12: next -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("next_value", ["home", "-1", "sessions:dashboard", "//evil.example/", "/a\x00b"])
def test_next_that_is_not_a_url_adds_the_participant_once(logged_in, session, next_value):
    url = reverse("sessions:participant_add", kwargs={"pk": session.pk})
    response = logged_in.post(url, {**_person(), "next": next_value})

    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:detail", kwargs={"pk": session.pk})
    assert session.participants.filter(name="Kim New").count() == 1


def test_next_that_is_a_path_of_ours_is_followed(logged_in, session):
    url = reverse("sessions:participant_add", kwargs={"pk": session.pk})
    response = logged_in.post(url, {**_person(), "next": "/calendar/?view=week"})

    assert response["Location"] == "/calendar/?view=week"


@pytest.mark.parametrize("next_value", ["home", "-1"])
def test_next_that_is_not_a_url_on_remind_and_remove_goes_to_the_session(logged_in, session, next_value):
    participant = session.participants.get()
    kwargs = {"pk": session.pk, "participant_pk": participant.pk}
    detail = reverse("sessions:detail", kwargs={"pk": session.pk})

    remind = logged_in.post(reverse("sessions:participant_remind", kwargs=kwargs), {"next": next_value})
    remove = logged_in.post(reverse("sessions:participant_remove", kwargs=kwargs), {"next": next_value})

    assert (remind["Location"], remove["Location"]) == (detail, detail)


def test_login_with_a_next_that_is_not_a_url_goes_to_the_dashboard(client, host):
    response = client.post(reverse("login"), {"username": host.email, "password": PASSWORD, "next": "home"})

    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:dashboard")


# Item 12: years at the ends of the calendar ---------------------------------------------------------------


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("day", FAR_DATES)
def test_history_refuses_dates_outside_the_range_instead_of_failing(logged_in, host, zone, day):
    _in_zone(host, zone)
    for field in ("start", "end"):
        page = logged_in.get(reverse("sessions:history"), {field: day})
        export = logged_in.get(reverse("sessions:history_csv"), {field: day})

        assert page.status_code == 200
        assert "Choose a date between" in page.content.decode()
        assert export.status_code == 400


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("view", ["week", "month"])
@pytest.mark.parametrize("day", [*FAR_DATES, "9999-12-27", "0001-01-07"])
def test_calendar_far_dates_show_the_nearest_page_instead_of_failing(logged_in, host, zone, view, day):
    _in_zone(host, zone)
    response = logged_in.get(reverse("sessions:calendar"), {"view": view, "date": day})

    assert response.status_code == 200
    assert "The calendar shows" in response.content.decode()


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("mode", ["reschedule", "next"])
@pytest.mark.parametrize("day", FAR_DATES)
def test_availability_answers_a_date_outside_the_range_with_a_message(
    logged_in, host, session, zone, mode, day
):
    _in_zone(host, zone)
    url = reverse("sessions:availability", kwargs={"pk": session.pk})
    response = logged_in.get(url, {"mode": mode, "date": day, "time": "23:30"})

    assert response.status_code == 200
    assert "Choose a date between" in response.content.decode()


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("day", FAR_DATES)
def test_schedule_form_refuses_a_date_outside_the_range_and_books_nothing(logged_in, host, zone, day):
    _in_zone(host, zone)
    response = logged_in.post(reverse("sessions:schedule"), _schedule_data(day))

    assert response.status_code == 200
    assert "Choose a date between" in response.content.decode()
    assert not Session.objects.exists()


def test_schedule_form_says_how_far_ahead_a_session_may_be(logged_in):
    content = logged_in.get(reverse("sessions:schedule")).content.decode()
    assert "Within 5 years from today" in content


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("action", ["reschedule", "schedule_next"])
@pytest.mark.parametrize("day", FAR_DATES)
def test_reschedule_and_schedule_next_refuse_a_date_outside_the_range(
    logged_in, host, session, zone, action, day
):
    _in_zone(host, zone)
    before = session.start_at
    url = reverse(f"sessions:{action}", kwargs={"pk": session.pk})
    response = logged_in.post(url, {"date": day, "time": "23:30", "title": "Next", "notify": "on"})

    assert response.status_code == 200
    assert "Choose a date between" in response.content.decode()
    session.refresh_from_db()
    assert session.start_at == before
    assert Session.objects.count() == 1


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("day", FAR_DATES)
def test_blocked_time_outside_the_range_is_refused(logged_in, host, zone, day):
    _in_zone(host, zone)
    data = {
        "block-start_date": day,
        "block-start_time": "23:30",
        "block-end_date": day,
        "block-end_time": "23:45",
    }
    response = logged_in.post(reverse("sessions:blocked_slot_add"), data)

    assert response.status_code == 200
    assert "Choose a date between" in response.content.decode()
    assert not BlockedSlot.objects.exists()


@pytest.mark.parametrize(
    "start_at",
    [
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        timezone.now() + timedelta(days=6 * 366),
    ],
)
def test_services_refuse_a_start_outside_the_range_whoever_calls_them(host, session, start_at):
    person = ParticipantDetails(name="Ana", invite_method="email", email="ana@example.test")
    with pytest.raises(ValidationFailedError, match="Choose a date between"):
        session_schedule(
            actor=host, host=host, title="T", start_at=start_at, duration_minutes=50, participants=[person]
        )
    with pytest.raises(ValidationFailedError, match="Choose a date between"):
        session_reschedule(actor=host, session=session, start_at=start_at)
    with pytest.raises(ValidationFailedError, match="Choose a date between"):
        session_schedule_next(actor=host, session=session, start_at=start_at)
    with pytest.raises(ValidationFailedError, match="Choose a date between"):
        blocked_slot_add(actor=host, host=host, start_at=start_at, end_at=start_at + timedelta(minutes=15))
    assert Session.objects.count() == 1
    assert not BlockedSlot.objects.exists()


def test_a_series_that_would_run_past_the_range_is_refused(host):
    person = ParticipantDetails(name="Ana", invite_method="email", email="ana@example.test")
    with pytest.raises(ValidationFailedError, match="Choose a date between") as refused:
        session_schedule(
            actor=host,
            host=host,
            title="T",
            start_at=timezone.now() + timedelta(days=4 * 365),
            duration_minutes=50,
            participants=[person],
            repeat=RepeatRule(frequency="monthly", count=40),
        )
    assert refused.value.field == "repeat_count"
    assert not Session.objects.exists()


# Item 12: reminder leads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["99999999999d", "9" * 5000 + "m", "1d, " * 5000])
def test_reminder_leads_too_large_are_refused_with_a_message(logged_in, value):
    response = logged_in.post(reverse("sessions:reminder_settings"), {"reminders": value})

    assert response.status_code == 200
    assert response.context["form"].errors["reminders"]


def test_reminder_settings_service_refuses_a_lead_too_large_for_a_timedelta(host):
    with pytest.raises(ValidationFailedError, match="between 10 minutes and 14 days"):
        reminder_settings_update(actor=host, host=host, reminder_lead_minutes=[99999999999 * 24 * 60])


# Item 12: autocomplete ------------------------------------------------------------------------------------


def test_autocomplete_query_with_a_nul_byte_matches_nothing_without_asking_the_database(
    host, django_assert_num_queries
):
    ContactFactory(organization=host.organization, name="Pat Client")
    with django_assert_num_queries(0):
        assert list(contacts_matching(organization=host.organization, query="Pa\x00t")) == []


@pytest.mark.parametrize("query", ["a" * 100_000, "Pat\x00", "%" * 60_000])
def test_autocomplete_hostile_queries_answer_an_empty_list(logged_in, host, query):
    ContactFactory(organization=host.organization, name="Pat Client")
    response = logged_in.get(reverse("contacts:autocomplete"), {"q": query})

    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_autocomplete_still_finds_a_contact(logged_in, host):
    ContactFactory(organization=host.organization, name="Pat Client")
    response = logged_in.get(reverse("contacts:autocomplete"), {"q": "  Pat  "})
    assert [r["name"] for r in response.json()["results"]] == ["Pat Client"]


# Item 13: email subjects ----------------------------------------------------------------------------------

TITLE = "Smith & Jones 'Review' <1>"


def test_email_subject_and_text_carry_the_title_as_typed_and_the_html_escapes_it(host):
    host.full_name = "Dr O'Brien & Partners"
    host.save(update_fields=["full_name"])
    session = session_schedule(
        actor=host,
        host=host,
        title=TITLE,
        start_at=timezone.now() + timedelta(days=3),
        duration_minutes=50,
        participants=[ParticipantDetails(name="Ann & Bo", invite_method="email", email="ann@example.test")],
    )
    session_reschedule(actor=host, session=session, start_at=session.start_at + timedelta(days=1))
    Participant.objects.filter(session=session).update(name="Ann & Bo")
    notices_deliver_due()

    assert {m.subject.split(":")[0] for m in mail.outbox} == {"Invitation", "Moved"}
    for email in mail.outbox:
        assert f"{TITLE} with Dr O'Brien & Partners" in email.subject
        assert "&amp;" not in email.subject and "&#x27;" not in email.subject
        assert TITLE in email.body and "Hello Ann & Bo," in email.body
        assert "&amp;" not in email.body and "&#x27;" not in email.body and "&lt;" not in email.body
        [(html, _mimetype)] = email.alternatives
        assert "Smith &amp; Jones &#x27;Review&#x27; &lt;1&gt;" in html
        assert TITLE not in html
