"""A member's own profile (name, zone, password, email address) and the organisation's settings: through
HTTP like a person, then the database, the audit log and what was sent (issue 12, items 4 and 5)."""

from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import quote

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership
from accounts.services import (
    OrganizationSettings,
    email_change_confirm,
    email_change_request,
    email_change_token,
    organization_settings_update,
    profile_update,
)
from config.errors import PermissionDeniedError, ValidationFailedError
from config.logging import redact
from notifications.channels import send_email
from notifications.models import Notification
from notifications.rendering import RenderedNotice, as_email
from tests.factories import PASSWORD, UserFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Ann Admin")


def _events(action: AuditAction):
    return AuditEvent.objects.filter(action=action.value)


def _settings_post(**changes) -> dict:
    values = {
        "name": "Bright Therapy",
        "default_participant_time_zone": "Asia/Tokyo",
        "default_reminder_lead_minutes": "2d, 3h",
        "sender_name": "Dr Ada's Practice",
        "cancellation_window_hours": "48",
        "participant_cancel_cancels_session": "on",
    }
    return {**values, **changes}


# The profile ----------------------------------------------------------------------------------------------


def test_a_new_time_zone_shows_on_the_dashboard_at_once(client, host):
    client.force_login(host)
    assert "Times in Europe/London." in client.get(reverse("sessions:dashboard")).content.decode()

    response = client.post(
        reverse("accounts:profile"), {"full_name": "Dr Ada Host", "time_zone": "Asia/Tokyo"}
    )

    assert response.status_code == 302
    assert "Times in Asia/Tokyo." in client.get(reverse("sessions:dashboard")).content.decode()
    event = _events(AuditAction.PROFILE_UPDATE).get()
    assert event.actor == host
    assert event.details == {"before": {"time_zone": "Europe/London"}, "after": {"time_zone": "Asia/Tokyo"}}


def test_the_profile_refuses_an_unknown_zone_and_an_empty_name(client, host):
    client.force_login(host)

    response = client.post(reverse("accounts:profile"), {"full_name": " ", "time_zone": "Europe/Nowhere"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "time_zone"}
    with pytest.raises(ValidationFailedError):
        profile_update(actor=host, full_name="Ada\nBcc: x@example.test", time_zone="UTC")
    host.refresh_from_db()
    assert (host.full_name, host.time_zone) == ("Dr Ada Host", "Europe/London")
    assert not _events(AuditAction.PROFILE_UPDATE).exists()


def test_saving_an_unchanged_profile_records_nothing(host):
    profile_update(actor=host, full_name=host.full_name, time_zone=host.time_zone)

    assert not _events(AuditAction.PROFILE_UPDATE).exists()


def test_a_password_change_is_audited_and_keeps_the_person_logged_in(client, host):
    client.force_login(host)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-newer-secret",
            "new_password2": "a-much-newer-secret",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("accounts:profile")
    assert "Password changed." in response.content.decode()
    host.refresh_from_db()
    assert host.check_password("a-much-newer-secret")
    event = _events(AuditAction.PASSWORD_CHANGE).get()
    assert event.actor == host and event.details == {}
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_wrong_old_password_changes_nothing_and_records_nothing(client, host):
    client.force_login(host)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "a-much-newer-secret",
            "new_password2": "a-much-newer-secret",
        },
    )

    assert response.status_code == 200 and "old_password" in response.context["form"].errors
    host.refresh_from_db()
    assert host.check_password(PASSWORD)
    assert not _events(AuditAction.PASSWORD_CHANGE).exists()


def test_a_new_email_address_counts_only_once_its_link_is_opened(client, host):
    client.force_login(host)

    response = client.post(reverse("accounts:email_change"), {"email": "Ada.New@Example.test"}, follow=True)

    assert "We sent a link to ada.new@example.test; your address changes when you open it." in (
        response.content.decode()
    )
    host.refresh_from_db()
    assert host.email != "ada.new@example.test"
    notice = Notification.objects.get(kind=Notification.Kind.EMAIL_CONFIRM)
    assert notice.recipient == "ada.new@example.test"
    assert notice.context == {"user_id": host.pk, "new_email": "ada.new@example.test"}
    assert _events(AuditAction.EMAIL_CHANGE_REQUEST).get().details == {"new_email": "ada.new@example.test"}

    # Opened from the new inbox, in a browser where nobody is logged in.
    url = reverse(
        "accounts:email_confirm",
        kwargs={"token": email_change_token(user=host, new_email=notice.context["new_email"])},
    )
    anonymous = client.__class__()
    page = anonymous.get(url)
    assert "Use <strong>ada.new@example.test</strong>" in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    host.refresh_from_db()
    assert host.email != "ada.new@example.test", "a GET (a mail scanner) must not change the address"

    confirmed = anonymous.post(url)

    assert "Your email address is now <strong>ada.new@example.test</strong>" in confirmed.content.decode()
    host.refresh_from_db()
    assert host.email == "ada.new@example.test"
    assert _events(AuditAction.EMAIL_CHANGE_CONFIRM).get().details["new_email"] == "ada.new@example.test"


def test_a_used_confirmation_link_is_refused(client, host):
    token = email_change_token(user=host, new_email="ada.new@example.test")
    url = reverse("accounts:email_confirm", kwargs={"token": token})
    client.post(url)

    again = client.post(url)

    assert "This link has already been used or is no longer valid." in again.content.decode()
    assert _events(AuditAction.EMAIL_CHANGE_CONFIRM).count() == 1


def test_an_expired_confirmation_link_is_refused(client, host):
    token = email_change_token(user=host, new_email="ada.new@example.test")

    with time_machine.travel(timedelta(hours=25)):
        response = client.post(reverse("accounts:email_confirm", kwargs={"token": token}))

    assert "This link has expired." in response.content.decode()
    host.refresh_from_db()
    assert host.email != "ada.new@example.test"


def test_a_forged_confirmation_link_is_refused(client, host):
    # Signed with another key: the account, old and new addresses of someone else's choosing.
    forged = signing.dumps(
        {"u": host.pk, "old": host.email, "new": "attacker@example.test"},
        key="not-our-secret-key",
        salt="accounts.email_change",
    )

    response = client.post(reverse("accounts:email_confirm", kwargs={"token": forged}))

    assert "This link is not valid." in response.content.decode()
    host.refresh_from_db()
    assert host.email != "attacker@example.test"
    with pytest.raises(ValidationFailedError):
        email_change_confirm(token="nonsense")


def test_an_address_of_another_account_is_refused_at_request_and_at_confirmation(client, host):
    other = UserFactory(email="taken@example.test")
    client.force_login(host)

    response = client.post(reverse("accounts:email_change"), {"email": "TAKEN@example.test"})

    assert response.context["email_form"].errors == {"email": ["That address belongs to another account."]}
    assert not Notification.objects.exists()

    token = email_change_token(user=host, new_email="later@example.test")
    other.email = "later@example.test"
    other.save()
    with pytest.raises(ValidationFailedError, match="now belongs to another account"):
        email_change_confirm(token=token)
    with pytest.raises(ValidationFailedError):
        email_change_request(actor=host, new_email="not an address")


def test_the_confirmation_token_is_cut_out_of_logs():
    line = 'GET /profile/email/confirm/eyJ1IjoxfQ:1tX:abc_-d/ HTTP/1.1" 200'

    assert redact(line) == 'GET /profile/email/confirm/[redacted]/ HTTP/1.1" 200'
    assert "abc" not in redact("/profile/%65mail%2Fconfirm%2Fabc/")


# The organisation's settings ------------------------------------------------------------------------------


def test_only_admins_open_the_organisation_settings(client, host, scheduler, admin):
    url = reverse("accounts:organization_settings")
    for person in (host, scheduler):
        client.force_login(person)
        assert client.get(url).status_code == 404
        assert client.post(url, _settings_post()).status_code == 404
    client.force_login(admin)
    assert client.get(url).status_code == 200
    host.organization.refresh_from_db()
    assert host.organization.name != "Bright Therapy"
    with pytest.raises(PermissionDeniedError):
        organization_settings_update(actor=host, values=OrganizationSettings(**_settings_values()))


def _settings_values() -> dict:
    return {
        "name": "Bright Therapy",
        "default_participant_time_zone": "Asia/Tokyo",
        "default_reminder_lead_minutes": [2880, 180],
        "sender_name": "",
        "cancellation_window_hours": 48,
    }


def test_an_admin_saves_the_settings_and_the_log_has_before_and_after(client, admin):
    organization = admin.organization
    old_name = organization.name
    client.force_login(admin)

    response = client.post(reverse("accounts:organization_settings"), _settings_post(), follow=True)

    assert "Organisation settings saved." in response.content.decode()
    organization.refresh_from_db()
    assert organization.name == "Bright Therapy"
    assert organization.default_participant_time_zone == "Asia/Tokyo"
    assert organization.default_reminder_lead_minutes == [2880, 180]
    assert organization.sender_name == "Dr Ada's Practice"
    assert organization.cancellation_window_hours == 48
    event = _events(AuditAction.ORGANIZATION_SETTINGS_UPDATE).get()
    assert event.actor == admin
    assert event.details["before"] == {
        "name": old_name,
        "default_participant_time_zone": "Europe/London",
        "default_reminder_lead_minutes": [1440, 60],
        "sender_name": "",
        "cancellation_window_hours": 24,
    }
    assert event.details["after"]["default_reminder_lead_minutes"] == [2880, 180]
    assert "2d, 3h" in client.get(reverse("accounts:organization_settings")).content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("default_reminder_lead_minutes", "5m"),
        ("default_reminder_lead_minutes", "1d, 2d, 3d, 4d, 5d, 6d"),
        ("cancellation_window_hours", "99999"),
        ("cancellation_window_hours", "-1"),
        ("default_participant_time_zone", "Europe/Nowhere"),
        ("name", " "),
        ("sender_name", "Dr Ada\r\nBcc: everyone@example.test"),
    ],
)
def test_settings_refuse_what_cannot_be_used_and_write_nothing(client, admin, field, value):
    client.force_login(admin)

    response = client.post(reverse("accounts:organization_settings"), _settings_post(**{field: value}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not _events(AuditAction.ORGANIZATION_SETTINGS_UPDATE).exists()


def test_the_sender_name_is_the_display_name_of_every_email(host):
    organization = host.organization
    organization.sender_name = "Cabinet Müller, Paris"
    organization.save()
    notice = Notification.objects.create(
        organization=organization,
        kind="invite",
        channel="email",
        recipient="pat@example.test",
        dedupe_key="t:1",
    )

    send_email(as_email(notice, RenderedNotice(subject="Your session", text="Hello")))

    sent = mail.outbox[-1]
    assert sent.from_email == '"Cabinet Müller, Paris" <no-reply@consultations.test>'
    # As a mail client reads the header: the name whole (accent and comma), the address ours.
    received = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    (sender,) = received["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Cabinet Müller, Paris", "no-reply@consultations.test")

    organization.sender_name = ""
    organization.save()
    notice.refresh_from_db()
    send_email(as_email(notice, RenderedNotice(subject="Your session", text="Hello")))
    assert mail.outbox[-1].from_email == f"{organization.name} <no-reply@consultations.test>"


def test_new_participant_rows_default_to_the_organisations_zone(client, host):
    organization = host.organization
    organization.default_participant_time_zone = "America/Chicago"
    organization.save()
    client.force_login(host)

    form = client.get(reverse("sessions:schedule")).context["formset"].forms[0]

    assert host.time_zone == "Europe/London"
    assert form["time_zone"].initial == "America/Chicago"


@pytest.mark.parametrize(
    "token",
    ["x", "%00", "a" * 5000, "eyJ1IjoxfQ:1tX:abc", "..", "<script>alert(1)</script>", "é:é:é"],
)
def test_a_hostile_confirmation_link_is_a_plain_refusal_and_changes_nothing(client, host, token):
    url = f"/profile/email/confirm/{quote(token, safe='')}/"

    for response in (client.get(url), client.post(url)):
        # A "/" in it leaves the route: Django's plain 404.
        assert response.status_code == 404 if "/" in token else response.status_code == 200
        if response.status_code == 200:
            assert "This link is not valid." in response.content.decode()
    host.refresh_from_db()
    assert host.email.endswith("@example.test")
    assert not AuditEvent.objects.exists()
