"""The emails about an account (issue 12): what they say, that the kept copy has no working link, when the
worker withdraws them instead of sending, and the development outbox offering the live invitation link."""

import re

import pytest
from django.core import mail
from django.urls import resolve, reverse

from accounts.models import Membership, User
from accounts.services import InvitationDetails, email_change_request, invitation_create, invitation_resend
from accounts.tokens import invitation_token
from notifications.models import Notification
from notifications.services import notices_deliver_due
from tests.factories import member

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"http://testserver(/\S+/)")


def _admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin")


def test_the_confirmation_email_carries_a_link_to_confirm_the_new_address(host):
    email_change_request(actor=host, new_email="ada.new@example.test")

    notices_deliver_due()

    (email,) = mail.outbox
    assert email.to == ["ada.new@example.test"]
    assert "Confirm your new email address" in email.subject
    path = CONFIRM_LINK.search(email.body).group(1)
    assert resolve(path).view_name == "accounts:email_confirm"
    notice = Notification.objects.get(kind=Notification.Kind.EMAIL_CONFIRM)
    assert notice.status == Notification.Status.SENT
    assert "[confirmation link]" in notice.body and path not in notice.body


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"is_active": False}, "Withdrawn: the account is no longer active."),
        ({"email": "ada.new@example.test"}, "Withdrawn: the address is already confirmed."),
    ],
)
def test_a_confirmation_email_that_no_longer_applies_is_withdrawn(host, change, said):
    email_change_request(actor=host, new_email="ada.new@example.test")
    User.objects.filter(pk=host.pk).update(**change)

    notices_deliver_due()

    assert not mail.outbox
    notice = Notification.objects.get(kind=Notification.Kind.EMAIL_CONFIRM)
    assert (notice.status, notice.last_error) == (Notification.Status.WITHDRAWN, said)


def test_the_invitation_email_is_signed_with_the_organisations_sender_name(organization):
    organization.sender_name = "Dr Ada's Practice"
    organization.save()
    admin = _admin(organization)
    invitation_create(actor=admin, details=InvitationDetails(email="new@example.test", role="host"))

    notices_deliver_due()

    assert mail.outbox[0].from_email.startswith("Dr Ada's Practice <")


def test_the_dev_outbox_offers_the_current_invitation_link_only(client, organization, host):
    admin = _admin(organization)
    invitation = invitation_create(
        actor=admin, details=InvitationDetails(email="new@example.test", role="host")
    )
    old_token = invitation_token(invitation)
    invitation = invitation_resend(actor=admin, invitation=invitation)
    notices_deliver_due()

    page = client.get(reverse("dev_outbox")).content.decode()

    assert page.count("Invitation link for new@example.test") == 1
    assert reverse("accounts:invitation_accept", kwargs={"token": invitation_token(invitation)}) in page
    assert old_token not in page
