"""The main navigation marks the section of the page being shown, and only that one: `active` for the eye and
aria-current="page" for a screen reader."""

import re

import pytest
from django.urls import reverse

from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

CURRENT = re.compile(r'<a class="nav-link active" href="[^"]*" aria-current="page">([^<]+)</a>')


def _current_items(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    # The page's own content may mark its own current item (the calendar's Week or Month, say).
    navigation = response.content.decode().split('<nav class="navbar', 1)[1].split("</nav>", 1)[0]
    assert navigation.count('aria-current="page"') == navigation.count("nav-link active")
    return CURRENT.findall(navigation)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (reverse("sessions:calendar"), "Calendar"),
        (reverse("sessions:calendar") + "?view=month", "Calendar"),
        (reverse("sessions:dashboard"), "Dashboard"),
        (reverse("sessions:schedule"), "Dashboard"),
        (reverse("sessions:history"), "History"),
        (reverse("sessions:working_hours"), "Working hours"),
        (reverse("sessions:rooms"), "Rooms"),
        (reverse("sessions:reminder_settings"), "Reminders"),
        (reverse("contacts:list"), "Contacts"),
        (reverse("contacts:create"), "Contacts"),
        (reverse("documents:list"), "Documents"),
        (reverse("documents:packet_create"), "Documents"),
        (reverse("billing:payments"), "Payments"),
        (reverse("billing:services"), "Payments"),
    ],
)
def test_only_the_current_section_is_marked(client, host, url, expected):
    client.force_login(host)
    assert _current_items(client, url) == [expected]


def test_a_session_page_and_its_actions_belong_to_the_dashboard(client, host):
    session = SessionFactory(host=host)
    client.force_login(host)
    assert _current_items(client, reverse("sessions:detail", args=[session.pk])) == ["Dashboard"]
    assert _current_items(client, reverse("sessions:reschedule", args=[session.pk])) == ["Dashboard"]
    assert _current_items(client, reverse("sessions:participant_add", args=[session.pk])) == ["Dashboard"]


def test_the_scheduling_page_is_marked_for_a_scheduler(client, scheduler):
    client.force_login(scheduler)
    assert _current_items(client, reverse("accounts:scheduling")) == ["Scheduling"]


def test_a_page_outside_the_navigation_marks_nothing(client, host):
    client.force_login(host)
    assert _current_items(client, "/dev/outbox/") == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (reverse("accounts:team"), "Team"),
        (reverse("accounts:organization_settings"), "Settings"),
        (reverse("accounts:audit_log"), "Audit log"),
        (reverse("accounts:profile"), "Morgan Admin"),
        (reverse("accounts:password_change"), "Morgan Admin"),
        (reverse("accounts:scheduling"), "Scheduling"),
    ],
)
def test_the_organisation_pages_are_marked_for_an_admin(client, organization, url, expected):
    from accounts.models import Membership
    from tests.factories import member

    admin = member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin")
    client.force_login(admin)
    assert _current_items(client, url) == [expected]
