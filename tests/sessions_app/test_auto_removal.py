"""Ended sessions leave the dashboard on their own DASHBOARD_KEEP_ENDED_HOURS after their end, except
those a participant still owes a required document, which stay with a warning; and the red confirmation
before such a session is cancelled or removed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import fragments
from documents.models import DocumentField, Packet, PacketDocument
from documents.selectors import required_documents_missing, sessions_with_missing_required_documents
from documents.services import document_create, document_field_add, document_update, submission_submit
from sessions_app.models import DocumentsShown, Session
from sessions_app.services import participant_remove, session_cancel, session_remove, sessions_complete_ended
from tests.factories import OrganizationFactory, ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(minutes=50)
WARNING = "Required documents not completed"


@pytest.fixture
def session(host):
    return SessionFactory(host=host, start_at=START, duration_minutes=50, title="Morning")


@pytest.fixture
def maria(session):
    return ParticipantFactory(session=session, name="Maria")


def _document(host, title="Consent", *, required=True, at=START - timedelta(days=2)):
    with time_machine.travel(at, tick=False):
        document = document_create(actor=host, title=title, is_required=required)
        field = document_field_add(
            actor=host, document=document, kind=DocumentField.Kind.CONSENT, label="I agree", required=True
        )
    return document, field


def _dashboard(client, host, at) -> str:
    with time_machine.travel(at, tick=False):
        # Logged in at that moment: a login from days before has expired by then.
        client.force_login(host)
        response = client.get(reverse("sessions:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def _on(session, page: str) -> bool:
    return f'data-session-id="{session.pk}"' in page


# Leaving on their own -------------------------------------------------------------------------------------


def test_an_ended_session_stays_for_the_configured_hours_then_leaves(client, host, session, settings):
    settings.DASHBOARD_KEEP_ENDED_HOURS = 2
    with time_machine.travel(END + timedelta(minutes=5), tick=False):
        sessions_complete_ended()
    ended = _dashboard(client, host, END + timedelta(hours=1, minutes=59))
    assert _on(session, ended) and "Ended</span>" in ended and WARNING not in ended
    assert not _on(session, _dashboard(client, host, END + timedelta(hours=2)))


def test_by_default_an_ended_session_leaves_a_day_after_its_end(client, host, session):
    assert _on(session, _dashboard(client, host, END + timedelta(hours=23, minutes=59)))
    assert not _on(session, _dashboard(client, host, END + timedelta(hours=24, minutes=1)))


def test_cancelled_and_removed_sessions_leave_at_once(client, host, session):
    started = SessionFactory(host=host, start_at=START + timedelta(hours=2), title="Later")
    client.force_login(host)
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        session_cancel(actor=host, session=session)
    with time_machine.travel(started.start_at + timedelta(minutes=10), tick=False):
        session_remove(actor=host, session=started)
    page = _dashboard(client, host, started.start_at + timedelta(minutes=11))
    assert not _on(session, page) and not _on(started, page)


# Kept while required documents are missing ------------------------------------------------------------------


def test_a_session_with_a_missing_required_document_stays_with_a_warning(client, host, session, maria):
    _document(host)
    page = _dashboard(client, host, END + timedelta(days=5))
    assert _on(session, page) and WARNING in page
    # The way off: Remove, offered in its menu.
    with time_machine.travel(END + timedelta(days=5), tick=False):
        menu = client.get(reverse("sessions:manage_menu", kwargs={"pk": session.pk})).content.decode()
        assert reverse("sessions:remove", kwargs={"pk": session.pk}) in menu
        session_remove(actor=host, session=session)
    assert not _on(session, _dashboard(client, host, END + timedelta(days=5)))


def test_documents_that_arrived_before_the_end_let_the_session_leave(client, host, session, maria):
    document, field = _document(host)
    with time_machine.travel(START, tick=False):
        submission_submit(participant=maria, document=document, answers={str(field.pk): "on"}, files={})
    assert not _on(session, _dashboard(client, host, END + timedelta(days=2)))


def test_a_document_no_longer_required_lets_the_session_leave(client, host, session, maria):
    document, _field = _document(host)
    assert _on(session, _dashboard(client, host, END + timedelta(days=2)))
    document_update(
        actor=host, document=document, title="Consent", instructions="", is_active=True, is_required=False
    )
    assert not _on(session, _dashboard(client, host, END + timedelta(days=2)))


def test_only_documents_shown_to_active_participants_keep_a_session(client, host, session, maria):
    document, _field = _document(host)
    other, _ = _document(host, "Intake")
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    PacketDocument.objects.create(packet=packet, document=other)
    maria.documents_shown = DocumentsShown.NONE
    maria.save(update_fields=["documents_shown"])
    assert not _on(session, _dashboard(client, host, END + timedelta(days=2)))

    tom = ParticipantFactory(session=session, documents_shown=DocumentsShown.PACKET, documents_packet=packet)
    assert _on(session, _dashboard(client, host, END + timedelta(days=2)))
    with time_machine.travel(START, tick=False):
        participant_remove(actor=host, participant=tom)
    assert not _on(session, _dashboard(client, host, END + timedelta(days=2)))


def test_a_required_document_created_after_the_end_does_not_bring_old_sessions_back(
    client, host, session, maria
):
    _document(host, at=END + timedelta(days=3))
    assert not _on(session, _dashboard(client, host, END + timedelta(days=4)))


@pytest.mark.parametrize(
    "case",
    ["none shown", "all, required missing", "all, optional only", "packet", "empty packet", "other org"],
)
def test_the_sql_rule_agrees_with_required_documents_missing(host, session, maria, case):
    required, _field = _document(host)
    optional, _ = _document(host, "Newsletter", required=False)
    packet = Packet.objects.create(organization=host.organization, name="Packet")
    if case == "none shown":
        maria.documents_shown = DocumentsShown.NONE
    elif case == "all, optional only":
        required.is_required = False
        required.save(update_fields=["is_required"])
    elif case == "packet":
        PacketDocument.objects.create(packet=packet, document=required)
        maria.documents_shown, maria.documents_packet = DocumentsShown.PACKET, packet
    elif case == "empty packet":
        PacketDocument.objects.create(packet=packet, document=optional)
        maria.documents_shown, maria.documents_packet = DocumentsShown.PACKET, packet
    elif case == "other org":
        required.is_required = False
        required.save(update_fields=["is_required"])
        stranger = member(role="host", organization=OrganizationFactory())
        _document(stranger, "Their consent")
    maria.save(update_fields=["documents_shown", "documents_packet"])
    flagged = sessions_with_missing_required_documents(Session.objects.filter(pk=session.pk)).get()
    expected = case in ("all, required missing", "packet")
    assert flagged.missing_required_documents is expected
    assert bool(required_documents_missing(maria)) is expected


def test_the_dashboard_stays_at_its_query_count_with_kept_and_waiting_sessions(client, host):
    _document(host)
    client.force_login(host)
    now = START + timedelta(days=10)

    def add(first: int, count: int) -> None:
        # Distinct times: PostgreSQL refuses two sessions of one host that overlap.
        for index in range(first, first + count):
            kept = SessionFactory(host=host, start_at=START - timedelta(hours=index + 1))
            ParticipantFactory(session=kept)
            waiting = SessionFactory(host=host, start_at=now + timedelta(minutes=2, hours=index * 2))
            ParticipantFactory(session=waiting, waiting_since=now)

    def queries() -> tuple[int, str]:
        with time_machine.travel(now, tick=False):
            client.force_login(host)
            fragments.store.clear()  # the page rendered, not served again (tests/test_page_fragments.py)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse("sessions:dashboard"))
        return len(captured), response.content.decode()

    add(0, 1)
    small, page = queries()
    assert page.count(WARNING) == 1 and page.count("waiting less than a minute") == 1
    add(1, 6)
    large, page = queries()
    assert page.count(WARNING) == 7
    assert large == small


# The red confirmation -------------------------------------------------------------------------------------


def test_cancel_asks_in_red_naming_who_misses_what(client, host, session, maria):
    _document(host)
    _document(host, "Intake")
    ParticipantFactory(session=session, name="Tom", documents_shown=DocumentsShown.NONE)
    client.force_login(host)
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        content = client.get(reverse("sessions:cancel", kwargs={"pk": session.pk})).content.decode()
    assert 'class="alert alert-danger"' in content
    assert (
        "There are documents required for this session which have not been completed. "
        "Are you sure you would like to cancel this session?"
    ) in content
    assert "Maria: Consent, Intake" in content and "Tom:" not in content


def test_remove_asks_in_red_whether_to_take_it_off_the_dashboard(client, host, session, maria):
    _document(host)
    with time_machine.travel(END + timedelta(days=2), tick=False):
        client.force_login(host)
        content = client.get(reverse("sessions:remove", kwargs={"pk": session.pk})).content.decode()
    assert (
        "There are documents required for this session which have not been completed. "
        "Are you sure you would like to remove this session from your dashboard?"
    ) in content
    assert "Maria: Consent" in content


def test_no_red_confirmation_when_nothing_is_missing(client, host, session, maria):
    _document(host, required=False)
    client.force_login(host)
    with time_machine.travel(START - timedelta(hours=1), tick=False):
        content = client.get(reverse("sessions:cancel", kwargs={"pk": session.pk})).content.decode()
    assert "There are documents required" not in content
