"""The profile's two calendar sections (issue 13): only hosts have them; the subscription address is shown
once, when it is made; the own calendar's address is never shown back, only its host name, with its last
reading or error; every button is a CSRF-protected post."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from sessions_app.models import CalendarFeed, CalendarSource
from sessions_app.services.calendar_sources import calendar_source_refresh, calendar_source_set

pytestmark = pytest.mark.django_db

FEED_URL = re.compile(r"http://testserver/calendar/feed/[A-Za-z0-9_-]{43}\.ics")
SECRET = "http://10.0.0.7/calendar/ical/private-5f2c9e0d41/basic.ics"
CALENDAR_ROUTES = [
    "accounts:calendar_feed_create",
    "accounts:calendar_feed_revoke",
    "accounts:calendar_source_set",
    "accounts:calendar_source_remove",
]


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_hosts_see_the_calendar_sections_and_others_get_a_404(host, scheduler):
    assert "Calendar subscription" in _logged_in(host).get(reverse("accounts:profile")).text
    assert "Busy times from your calendar" in _logged_in(host).get(reverse("accounts:profile")).text

    client = _logged_in(scheduler)
    page = client.get(reverse("accounts:profile")).text
    assert "Calendar subscription" not in page and "Busy times from your calendar" not in page
    for route in CALENDAR_ROUTES:
        assert client.post(reverse(route), {"url": "https://example.test/x.ics"}).status_code == 404
    assert not CalendarFeed.objects.exists() and not CalendarSource.objects.exists()


def test_the_subscription_address_is_shown_once_when_it_is_made(host):
    client = _logged_in(host)

    made = client.post(reverse("accounts:calendar_feed_create"))

    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    [url] = set(FEED_URL.findall(made.text))
    assert client.get(url.removeprefix("http://testserver")).status_code == 200
    later = client.get(reverse("accounts:profile")).text
    assert not FEED_URL.search(later)
    assert "Subscription address made on" in later and "Regenerate the address" in later


def test_regenerating_replaces_the_address_and_turning_it_off_ends_it(host):
    client = _logged_in(host)
    [first] = set(FEED_URL.findall(client.post(reverse("accounts:calendar_feed_create")).text))
    [second] = set(FEED_URL.findall(client.post(reverse("accounts:calendar_feed_create")).text))

    assert first != second
    assert client.get(first.removeprefix("http://testserver")).status_code == 404
    assert client.get(second.removeprefix("http://testserver")).status_code == 200

    response = client.post(reverse("accounts:calendar_feed_revoke"), follow=True)

    assert "Calendar subscription turned off" in response.text
    assert "Make a subscription address" in response.text
    assert client.get(second.removeprefix("http://testserver")).status_code == 404


def test_the_calendar_forms_are_csrf_protected(host):
    client = Client(enforce_csrf_checks=True)
    client.force_login(host)
    page = client.get(reverse("accounts:profile")).text
    for form_id in ("calendar-feed-create-form", "calendar-source-form"):
        form = page[page.index(f'id="{form_id}"') :].split("</form>")[0]
        assert 'name="csrfmiddlewaretoken"' in form

    for route in CALENDAR_ROUTES:
        assert client.post(reverse(route), {"url": "https://example.test/x.ics"}).status_code == 403
    assert not CalendarFeed.objects.exists() and not CalendarSource.objects.exists()


def test_the_own_calendar_address_is_never_shown_back_only_its_host(host):
    client = _logged_in(host)

    response = client.post(reverse("accounts:calendar_source_set"), {"url": SECRET}, follow=True)

    assert "Calendar saved" in response.text
    assert "10.0.0.7/…" in response.text
    assert "private-5f2c9e0d41" not in response.text
    assert CalendarSource.objects.get(host=host).url == SECRET
    assert AuditEvent.objects.get(action="calendar.source_set").details == {
        "host": "10.0.0.7/…",
        "replaced": False,
    }


def test_an_address_that_can_never_be_read_is_refused_on_the_form(host):
    response = _logged_in(host).post(reverse("accounts:calendar_source_set"), {"url": "file:///etc/passwd"})

    assert response.status_code == 200
    assert "Only http, https and webcal addresses can be read." in response.text
    assert "/etc/passwd" not in response.text
    assert not CalendarSource.objects.exists()


def test_a_failing_calendar_shows_its_last_error_on_the_profile(host, settings):
    settings.CALENDAR_FETCH_ALLOW_PRIVATE = False
    source = calendar_source_set(actor=host, url=SECRET)
    calendar_source_refresh(source_id=source.pk)

    page = _logged_in(host).get(reverse("accounts:profile")).text

    assert "Last error" in page
    assert "The address points to a private or local network, which is not allowed." in page
    assert "Not read yet" in page


def test_removing_the_calendar_forgets_it(host):
    calendar_source_set(actor=host, url=SECRET)
    client = _logged_in(host)

    response = client.post(reverse("accounts:calendar_source_remove"), follow=True)

    assert "Your calendar is no longer read" in response.text
    assert not CalendarSource.objects.exists()
    assert AuditEvent.objects.filter(action="calendar.source_remove").count() == 1
