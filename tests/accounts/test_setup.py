"""Setting up a new installation: the create_organization command and its one-time link, and the public
sign-up behind ALLOW_SIGNUP (issue 12, item 1)."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership, Organization, User
from accounts.services import invitation_accept
from notifications.models import HostNoticeSettings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"^http://testserver/welcome/(?P<token>[^/\s]+)/$", re.MULTILINE)


@pytest.fixture(autouse=True)
def fresh_throttle():
    # The sign-up limit counts in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


def _create(*args) -> str:
    out = StringIO()
    call_command("create_organization", *args, stdout=out)
    return out.getvalue()


def test_create_organization_prints_a_set_up_link_that_makes_an_admin_who_hosts():
    output = _create("Bright Therapy", "Founder@Example.org", "--time-zone", "Europe/Paris")

    organization = Organization.objects.get(name="Bright Therapy")
    assert organization.default_participant_time_zone == "Europe/Paris"
    assert "it works once, until" in output and "(Europe/Paris)" in output
    token = LINK.search(output)["token"]

    user = invitation_accept(
        token=token, full_name="Fay Founder", time_zone="Europe/Paris", password="s3t-up-secret!"
    )

    assert user.email == "founder@example.org"
    assert user.organization == organization
    assert user.is_admin and user.is_host
    assert HostNoticeSettings.objects.get(host=user).reminder_lead_minutes == [1440, 60]
    assert AuditEvent.objects.filter(
        organization=organization, action=AuditAction.ORGANIZATION_CREATE
    ).exists()


def test_the_set_up_link_works_once():
    token = LINK.search(_create("Bright Therapy", "founder@example.org"))["token"]
    invitation_accept(token=token, full_name="Fay Founder", time_zone="UTC", password="s3t-up-secret!")

    with pytest.raises(Exception, match="already been used"):
        invitation_accept(token=token, full_name="Someone Else", time_zone="UTC", password="an0ther-secret!")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bright Therapy", "taken@example.org"], "already has an account"),
        (["Bright Therapy", "new@example.org", "--time-zone", "Mars/Olympus"], "time zone"),
        (["Bright Therapy", "not-an-address"], "valid email"),
        (["", "new@example.org"], "organisation's name"),
    ],
)
def test_create_organization_stops_with_the_reason_and_creates_nothing(args, message):
    UserFactory(email="taken@example.org")

    with pytest.raises(CommandError, match=message):
        _create(*args)

    assert not Organization.objects.filter(name="Bright Therapy").exists()


# The public sign-up -----------------------------------------------------------------------------------------


def _sign_up(client, **changes):
    data = {
        "organization_name": "Solo Practice",
        "full_name": "Sam Solo",
        "email": "sam@example.org",
        "password1": "a-good-long-secret",
        "password2": "a-good-long-secret",
        "time_zone": "America/New_York",
        "hosts": "on",
        **changes,
    }
    return client.post(reverse("accounts:signup"), data)


def test_without_allow_signup_there_is_no_sign_up_page(client, settings):
    settings.ALLOW_SIGNUP = False

    assert client.get(reverse("accounts:signup")).status_code == 404
    assert _sign_up(client).status_code == 404
    assert "Create an organisation" not in client.get(reverse("login")).content.decode()
    assert not User.objects.exists()


def test_a_sign_up_creates_the_organisation_and_its_admin_logged_in(client, settings):
    settings.ALLOW_SIGNUP = True
    assert reverse("accounts:signup") in client.get(reverse("login")).content.decode()

    response = _sign_up(client)

    assert response.status_code == 302 and response["Location"] == reverse("sessions:dashboard")
    user = User.objects.get(email="sam@example.org")
    assert get_user(client) == user
    assert user.time_zone == "America/New_York"
    assert user.organization.name == "Solo Practice"
    assert user.organization.default_participant_time_zone == "America/New_York"
    assert user.is_admin and user.is_host
    assert client.get(reverse("sessions:dashboard")).status_code == 200


def test_a_founder_who_does_not_host_is_an_admin_only(client, settings):
    settings.ALLOW_SIGNUP = True

    _sign_up(client, hosts="")

    user = User.objects.get(email="sam@example.org")
    assert user.is_admin and not user.is_host
    assert Membership.objects.get(user=user).admin_hosts is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password2": "something-else-entirely"}, "password2"),
        ({"password1": "password", "password2": "password"}, "password1"),
        ({"email": "taken@example.org"}, "email"),
        ({"full_name": " "}, "full_name"),
    ],
)
def test_a_refused_sign_up_says_why_and_creates_nothing(client, settings, changes, field):
    settings.ALLOW_SIGNUP = True
    UserFactory(email="taken@example.org")

    response = _sign_up(client, **changes)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Organization.objects.filter(name="Solo Practice").exists()
    assert not get_user(client).is_authenticated


def test_sign_ups_are_limited_to_five_an_hour_from_one_address(client, settings):
    settings.ALLOW_SIGNUP = True
    for n in range(5):
        client.logout()
        assert _sign_up(client, email=f"sam{n}@example.org").status_code == 302
    client.logout()

    refused = _sign_up(client, email="sam5@example.org")

    assert refused.status_code == 200
    assert "Try again later." in refused.content.decode()
    assert not User.objects.filter(email="sam5@example.org").exists()
    assert Organization.objects.filter(name="Solo Practice").count() == 5
    other_address = _sign_up(client.__class__(REMOTE_ADDR="10.0.0.9"), email="sam6@example.org")
    assert other_address.status_code == 302
