"""A participant has no account: none of the pages of their way in (join link, payment, documents, the
waiting room, the room, and the pages for a session not open yet, ended or cancelled) leads to the staff's
login, their dashboard or their menu, even when the same browser holds a host's login."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents.models import DocumentField
from documents.services import document_create, document_field_add
from sessions_app.join.links import join_token
from sessions_app.services import session_cancel
from tests.billing.pages import owing
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"]*)"')


def _enter(participant, client=None) -> Client:
    client = client or Client()
    assert client.get(reverse("join:enter", kwargs={"token": join_token(participant)})).status_code == 302
    return client


def _assert_participant_page(response, template: str):
    assert response.status_code in (200, 404), response.status_code
    assert template in [t.name for t in response.templates]
    assert "join/base_participant.html" in [t.name for t in response.templates]
    page = response.content.decode()
    staff = {reverse("login"), reverse("sessions:dashboard"), reverse("logout")}
    assert not [href for href in HREF.findall(page) if href in staff or href.startswith(reverse("login"))]
    assert "Log out" not in page and 'id="main-nav"' not in page
    # The product's name is plain text, not a link.
    assert '<span class="navbar-brand">Consultations</span>' in page


def _consent(host, *, required: bool):
    document = document_create(actor=host, title="Consent", is_required=required)
    document_field_add(actor=host, document=document, kind=DocumentField.Kind.CONSENT, label="I agree")
    return document


def test_the_way_in_before_the_window_pay_and_documents(host):
    document = _consent(host, required=False)
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))
    participant = ParticipantFactory(session=session, name="Pat")
    client = _enter(participant)
    # A host logged in in the same browser must not bring the staff's menu onto these pages.
    client.force_login(host)

    _assert_participant_page(client.get(reverse("join:lobby")), "join/not_open.html")
    _assert_participant_page(client.get(reverse("join:documents")), "documents/participant_documents.html")
    _assert_participant_page(
        client.get(reverse("join:document", kwargs={"document_pk": document.pk})),
        "documents/participant_document.html",
    )
    owing(participant)
    _assert_participant_page(client.get(reverse("join:pay")), "billing/participant_pay.html")


def test_the_waiting_room_and_the_room(host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=3))
    participant = ParticipantFactory(session=session, name="Pat")
    client = _enter(participant)

    _assert_participant_page(client.get(reverse("join:lobby")), "join/waiting_room.html")
    participant.refresh_from_db()
    participant.admitted_at = timezone.now()
    participant.save(update_fields=["admitted_at"])
    _assert_participant_page(client.get(reverse("join:room")), "sessions_app/video_room.html")


def test_an_ended_or_cancelled_session_and_a_link_that_no_longer_works(host):
    ended = SessionFactory(host=host, start_at=timezone.now() - timedelta(hours=2))
    with time_machine.travel(ended.start_at - timedelta(minutes=1)):
        client = _enter(ParticipantFactory(session=ended))
    _assert_participant_page(client.get(reverse("join:lobby")), "join/ended.html")

    cancelled = SessionFactory(host=host)
    client = _enter(ParticipantFactory(session=cancelled))
    session_cancel(actor=host, session=cancelled)
    _assert_participant_page(client.get(reverse("join:lobby")), "join/cancelled.html")

    _assert_participant_page(Client().get("/join/" + "A" * 43 + "/"), "join/link_not_found.html")
