"""Invitation links are bearer secrets like join links: their token never reaches a log in clear, and their
page gives no referrer (issue 12)."""

import logging

import pytest
from django.urls import reverse

from accounts.models import Membership
from accounts.services import InvitationDetails, invitation_create
from accounts.tokens import invitation_token
from config.logging import redact
from tests.factories import member


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /welcome/AbC-123_x/ HTTP/1.1", "GET /welcome/[redacted]/ HTTP/1.1"),
        ("GET /%77elcome%2FAbC/ HTTP/1.1", "GET /welcome/[redacted]/ HTTP/1.1"),
        ("Resolver404: {'path': 'welcome/AbC/'}", "Resolver404: {'path': 'welcome/[redacted]/'}"),
        ("GET /welcome/ HTTP/1.1", "GET /welcome/ HTTP/1.1"),
        ("GET /join/x/ then /welcome/y/", "GET /join/[redacted]/ then /welcome/[redacted]/"),
    ],
)
def test_an_invitation_token_is_redacted_encoded_or_not(line, expected):
    assert redact(line) == expected


@pytest.mark.django_db
def test_opening_an_invitation_link_logs_its_token_nowhere(client, organization, caplog):
    admin = member(role=Membership.Role.ADMIN, organization=organization)
    invitation = invitation_create(
        actor=admin, details=InvitationDetails(email="new@example.test", role=Membership.Role.HOST)
    )
    token = invitation_token(invitation)

    with caplog.at_level(logging.DEBUG):
        client.get(f"/welcome/{token}x/")
        response = client.get(reverse("accounts:invitation_accept", kwargs={"token": token}))
        logging.getLogger("django.server").info('"%s" 302 0', f"GET /welcome/{token}/ HTTP/1.1")

    assert response.status_code == 302 and response["Referrer-Policy"] == "no-referrer"
    assert caplog.records, "the unknown link's 404 is logged"
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage() and token not in repr(record.args)
    assert "/welcome/[redacted]/" in caplog.text
