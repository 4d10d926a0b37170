"""What the documents tests share: a session with a participant, an intake document with one field of each
kind, uploads kept in a temporary folder, and the participant's browser holding their join cookie."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents.models import Document, DocumentField
from sessions_app.join.links import join_token
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory

Kind = DocumentField.Kind
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return settings.MEDIA_ROOT


@pytest.fixture
def session(host):
    return SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1), title="Intake")


@pytest.fixture
def participant(session, host):
    contact = ContactFactory(organization=host.organization, name="Maria Client")
    return ParticipantFactory(session=session, name="Maria Client", contact=contact)


def make_document(organization, title="Intake form", *, required=False, active=True, kinds=()):
    document = Document.objects.create(
        organization=organization, title=title, is_required=required, is_active=active
    )
    for position, kind in enumerate(kinds):
        choices = (
            ["Morning", "Afternoon", "Evening"] if kind in (Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE) else []
        )
        DocumentField.objects.create(
            document=document, position=position, kind=kind, label=f"{kind} question", choices=choices
        )
    return document


@pytest.fixture
def intake(host):
    """A required document with one (optional) field of every kind."""
    return make_document(host.organization, required=True, kinds=Kind.values)


def field_of(document, kind):
    return document.fields.get(kind=kind)


def upload(content: bytes, name="scan.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def cookie_client(participant) -> Client:
    """A browser that opened the participant's join link."""
    client = Client()
    response = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    assert response.status_code == 302
    return client
