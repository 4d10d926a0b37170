"""The organisation decides what a lone participant's cancel does, and the audit log names a participant who
answered through their link as the one who acted."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from sessions_app.models import Session
from sessions_app.services import participant_cancel_self
from tests.factories import ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin")


def _settings(organization, **changes) -> dict:
    return {
        "name": organization.name,
        "default_participant_time_zone": organization.default_participant_time_zone,
        "default_reminder_lead_minutes": "24 hours, 1 hour",
        "sender_name": "",
        "cancellation_window_hours": "24",
        **changes,
    }


def test_an_admin_chooses_that_a_lone_participants_cancel_keeps_the_session(
    client, admin, host, organization
):
    client.force_login(admin)
    page = client.get(reverse("accounts:organization_settings")).content.decode()
    assert (
        'name="participant_cancel_cancels_session"' in page
        and "checked" in page.split('name="participant_cancel_cancels_session"')[1].split(">")[0]
    )

    # Unticked: the checkbox is not sent.
    response = client.post(reverse("accounts:organization_settings"), _settings(organization))
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.participant_cancel_cancels_session is False

    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=5))
    pat = ParticipantFactory(session=session, name="Pat")
    participant_cancel_self(participant=pat, reason="Moving away")
    session.refresh_from_db()
    pat.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED and pat.removed_at is not None


def test_the_audit_log_names_the_participant_who_cancelled(client, admin, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=5))
    pat = ParticipantFactory(session=session, name="Pat Answering")
    participant_cancel_self(participant=pat, reason="Ill")
    client.force_login(admin)
    page = client.get(reverse("accounts:audit_log")).content.decode()
    assert "Pat Answering (participant)" in page
