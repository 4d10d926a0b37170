"""The way in (documents, then the waiting room, then the room) and the host letting people in."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from documents.models import DocumentField
from documents.services import document_create, document_field_add, submission_submit
from sessions_app.join.links import join_token
from sessions_app.models import DocumentsShown, Participant
from sessions_app.services import (
    participant_admit,
    participant_remove,
    participant_wait,
    participants_admit_all,
    session_cancel,
    session_connect,
)
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
IN_WINDOW = START - timedelta(minutes=3)


@pytest.fixture
def session(host):
    return SessionFactory(host=host, start_at=START, duration_minutes=50, title="Therapy")


@pytest.fixture
def maria(session):
    return ParticipantFactory(session=session, name="Maria", time_zone="Europe/Madrid")


def _consent(host, *, required: bool):
    with time_machine.travel(START - timedelta(days=2), tick=False):
        document = document_create(actor=host, title="Consent", is_required=required)
        field = document_field_add(
            actor=host, document=document, kind=DocumentField.Kind.CONSENT, label="I agree", required=True
        )
    return document, field


def _enter(client, participant):
    """Trade the link for the cookie, as the participant's browser does."""
    response = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    assert response.status_code == 302


def _lobby(client, participant):
    _enter(client, participant)
    return client.get(reverse("join:lobby"))


def _waiting(participant, at=IN_WINDOW):
    with time_machine.travel(at, tick=False):
        return participant_wait(participant=participant)


def _connect(host, session, at=IN_WINDOW):
    with time_machine.travel(at, tick=False):
        return session_connect(actor=host, session=session)


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


# The lobby's order ------------------------------------------------------------------------------------------


def test_a_missing_required_document_sends_the_lobby_to_the_documents_first(client, host, maria):
    _consent(host, required=True)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = _lobby(client, maria)
    assert response.status_code == 302
    assert response["Location"] == reverse("join:documents")
    assert response["Referrer-Policy"] == "no-referrer"
    maria.refresh_from_db()
    assert maria.waiting_since is None


def test_optional_documents_only_lead_to_the_waiting_room_in_the_participants_zone(client, host, maria):
    _consent(host, required=False)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = _lobby(client, maria)
    assert response.status_code == 200
    assert "join/waiting_room.html" in _templates(response)
    content = response.content.decode()
    assert "The host will let you in" in content
    assert "Therapy" in content and host.full_name in content
    assert "Tuesday 1 December 2026, 15:00 CET (Europe/Madrid)" in content
    assert f'hx-get="{reverse("join:waiting_status")}"' in content and 'hx-trigger="every 3s"' in content
    assert 'id="video-room"' not in content and maria.session.video_room_name not in content


def test_a_submitted_required_document_no_longer_blocks_the_way_in(client, host, maria):
    document, field = _consent(host, required=True)
    with time_machine.travel(IN_WINDOW, tick=False):
        submission_submit(participant=maria, document=document, answers={str(field.pk): "on"}, files={})
        response = _lobby(client, maria)
    assert "join/waiting_room.html" in _templates(response)


def test_a_required_document_not_shown_to_the_participant_does_not_block_them(client, host, maria):
    _consent(host, required=True)
    maria.documents_shown = DocumentsShown.NONE
    maria.save(update_fields=["documents_shown"])
    with time_machine.travel(IN_WINDOW, tick=False):
        assert "join/waiting_room.html" in _templates(_lobby(client, maria))


def test_before_the_window_the_page_offers_the_documents_ahead(client, host, maria):
    with time_machine.travel(START - timedelta(days=1), tick=False):
        nothing_to_fill = _lobby(client, maria).content.decode()
    _consent(host, required=True)
    with time_machine.travel(START - timedelta(days=1), tick=False):
        response = _lobby(client, maria)
    assert "join/not_open.html" in _templates(response)
    assert "Fill your documents now" in response.content.decode()
    assert reverse("join:documents") in response.content.decode()
    assert "Fill your documents now" not in nothing_to_fill


# Waiting --------------------------------------------------------------------------------------------------


def test_waiting_is_recorded_on_the_first_arrival_only_and_audited_once(client, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    with time_machine.travel(IN_WINDOW + timedelta(minutes=1), tick=False):
        client.get(reverse("join:lobby"))
        for _ in range(3):
            assert client.get(reverse("join:waiting_status")).status_code == 200
    maria.refresh_from_db()
    assert maria.waiting_since == IN_WINDOW
    assert AuditEvent.objects.filter(action="participant.wait", object_id=str(maria.pk)).count() == 1


def test_the_waiting_status_is_never_cached_and_sends_no_referrer(client, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
        response = client.get(reverse("join:waiting_status"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    assert "HX-Redirect" not in response
    assert "has not joined yet" in response.content.decode()


def test_the_waiting_status_says_when_the_host_is_in(client, host, session, maria):
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
        content = client.get(reverse("join:waiting_status")).content.decode()
    assert "is in the session and will let you in shortly" in content


def test_once_admitted_the_waiting_status_redirects_the_page_to_the_room(client, host, session, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        participant_admit(actor=host, participant=maria)
        response = client.get(reverse("join:waiting_status"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("join:room")
    assert response["Referrer-Policy"] == "no-referrer"


def test_after_the_end_the_waiting_status_sends_the_page_back_to_the_lobby(client, session, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    with time_machine.travel(session.end_at, tick=False):
        response = client.get(reverse("join:waiting_status"))
        lobby = client.get(response["HX-Redirect"])
    assert response["HX-Redirect"] == reverse("join:lobby")
    assert "join/ended.html" in _templates(lobby)


# The room -------------------------------------------------------------------------------------------------


def test_a_participant_not_let_in_cannot_open_the_room(client, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
        response = client.get(reverse("join:room"))
    assert response.status_code == 302 and response["Location"] == reverse("join:lobby")
    maria.refresh_from_db()
    assert maria.joined_at is None


def test_an_admitted_participant_enters_and_comes_back_in_directly(client, host, session, maria, settings):
    settings.JITSI_BASE_URL = "https://video.example.test"
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        participant_admit(actor=host, participant=maria)
        room = client.get(reverse("join:lobby"), follow=True)
    assert room.redirect_chain == [(reverse("join:room"), 302)]
    assert "sessions_app/video_room.html" in _templates(room)
    assert f'src="https://video.example.test/{session.video_room_name}' in room.content.decode()
    assert room["Referrer-Policy"] == "no-referrer"
    # The connection dropped; the link (or a fresh browser) leads straight back in.
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        again = Client()
        _enter(again, maria)
        assert again.get(reverse("join:lobby"))["Location"] == reverse("join:room")
        assert again.get(reverse("join:room")).status_code == 200
    maria.refresh_from_db()
    assert maria.joined_at == IN_WINDOW
    assert AuditEvent.objects.filter(action="participant.join", object_id=str(maria.pk)).count() == 1


def test_the_room_is_not_served_after_the_end_even_to_an_admitted_participant(client, host, session, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        participant_admit(actor=host, participant=maria)
    with time_machine.travel(session.end_at, tick=False):
        response = client.get(reverse("join:room"), follow=True)
    assert "join/ended.html" in _templates(response)
    assert session.video_room_name not in response.content.decode()


def test_a_removed_participant_gets_a_404_everywhere_on_the_way_in(client, host, session, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        participant_admit(actor=host, participant=maria)
        participant_remove(actor=host, participant=maria)
        for name in ("join:lobby", "join:waiting_status", "join:room"):
            assert client.get(reverse(name)).status_code == 404, name


def test_a_cancelled_session_says_so_instead_of_the_waiting_room(client, host, session, maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        _lobby(client, maria)
        session_cancel(actor=host, session=session)
        lobby = client.get(reverse("join:lobby"))
        room = client.get(reverse("join:room"), follow=True)
    assert "join/cancelled.html" in _templates(lobby)
    assert "join/cancelled.html" in _templates(room)


# Letting in -----------------------------------------------------------------------------------------------


def test_the_host_admits_one_participant_once(host, session, maria):
    _waiting(maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW + timedelta(minutes=1), tick=False):
        participant_admit(actor=host, participant=maria)
        participant_admit(actor=host, participant=maria)
    maria.refresh_from_db()
    assert maria.admitted_at == IN_WINDOW + timedelta(minutes=1)
    event = AuditEvent.objects.get(action="participant.admit")
    assert (event.actor, event.acting_for, event.object_id) == (host, host, str(maria.pk))


def test_admit_all_lets_in_everyone_waiting_and_nobody_else(host, session, maria):
    tom = _waiting(ParticipantFactory(session=session, name="Tom"))
    _waiting(maria)
    gone = _waiting(ParticipantFactory(session=session, name="Gone"))
    not_arrived = ParticipantFactory(session=session, name="Not arrived")
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        participant_remove(actor=host, participant=gone)
        admitted = participants_admit_all(actor=host, session=session)
        assert participants_admit_all(actor=host, session=session) == []
    assert {p.name for p in admitted} == {"Maria", "Tom"}
    assert set(Participant.objects.filter(admitted_at__isnull=False).values_list("name", flat=True)) == {
        "Maria",
        "Tom",
    }
    assert not_arrived.pk not in [p.pk for p in admitted]
    event = AuditEvent.objects.get(action="participant.admit")
    assert sorted(event.details["participants"]) == sorted([maria.pk, tom.pk])


def test_a_scheduler_cannot_let_anyone_in(host, scheduler, session, maria):
    _waiting(maria)
    _connect(host, session)
    with time_machine.travel(IN_WINDOW, tick=False):
        with pytest.raises(PermissionDeniedError, match="Only the session's host"):
            participant_admit(actor=scheduler, participant=maria)
        with pytest.raises(PermissionDeniedError):
            participants_admit_all(actor=scheduler, session=session)
    maria.refresh_from_db()
    assert maria.admitted_at is None


def test_a_host_who_has_not_connected_is_told_to_connect_first(host, session, maria):
    _waiting(maria)
    with time_machine.travel(IN_WINDOW, tick=False):
        with pytest.raises(ValidationFailedError, match="Connect first"):
            participant_admit(actor=host, participant=maria)
        with pytest.raises(ValidationFailedError, match="Connect first"):
            participants_admit_all(actor=host, session=session)
    assert not AuditEvent.objects.filter(action="participant.admit").exists()


def test_nobody_is_let_in_once_the_session_ended(host, session, maria):
    _waiting(maria)
    _connect(host, session)
    with (
        time_machine.travel(session.end_at, tick=False),
        pytest.raises(ValidationFailedError, match="has ended"),
    ):
        participant_admit(actor=host, participant=maria)


def test_someone_not_in_the_waiting_room_cannot_be_let_in(host, session, maria):
    _connect(host, session)
    with (
        time_machine.travel(IN_WINDOW, tick=False),
        pytest.raises(ValidationFailedError, match="not in the waiting room"),
    ):
        participant_admit(actor=host, participant=maria)


# The host's pages -----------------------------------------------------------------------------------------


def _fragment_url(session) -> str:
    return reverse("sessions:waiting_room", kwargs={"pk": session.pk})


def _admit_url(session, participant) -> str:
    return reverse("sessions:participant_admit", kwargs={"pk": session.pk, "participant_pk": participant.pk})


def test_the_host_sees_who_waits_and_for_how_long_on_the_dashboard_and_the_session_page(
    client, host, session, maria
):
    _waiting(maria, at=IN_WINDOW - timedelta(minutes=1))
    _connect(host, session)
    client.force_login(host)
    with time_machine.travel(IN_WINDOW + timedelta(minutes=2), tick=False):
        pages = [
            client.get(reverse("sessions:dashboard")),
            client.get(reverse("sessions:detail", kwargs={"pk": session.pk})),
            client.get(reverse("sessions:video_room", kwargs={"pk": session.pk})),
        ]
    for page in pages:
        content = page.content.decode()
        assert "Maria" in content and "waiting 3 min" in content
        assert f'hx-get="{_fragment_url(session)}?next=' in content and 'hx-trigger="every 5s"' in content
        assert f'action="{_admit_url(session, maria)}"' in content
        assert reverse("sessions:admit_all", kwargs={"pk": session.pk}) in content


def test_before_connecting_the_host_sees_who_waits_and_is_told_to_connect_first(client, host, session, maria):
    _waiting(maria)
    client.force_login(host)
    with time_machine.travel(IN_WINDOW, tick=False):
        content = client.get(_fragment_url(session)).content.decode()
    assert "Maria" in content and "Connect first" in content
    assert _admit_url(session, maria) not in content


def test_a_scheduler_sees_who_waits_but_gets_no_admit_button(client, host, scheduler, session, maria):
    _waiting(maria)
    _connect(host, session)
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    with time_machine.travel(IN_WINDOW, tick=False):
        content = client.get(_fragment_url(session)).content.decode()
        refused = client.post(_admit_url(session, maria))
    assert "Maria" in content and f"Only {host.full_name} lets them in" in content
    assert _admit_url(session, maria) not in content
    assert refused.status_code == 302
    assert "Only the session's host" in " ".join(str(m) for m in get_messages(refused.wsgi_request))
    maria.refresh_from_db()
    assert maria.admitted_at is None


def test_a_far_off_session_polls_rarely_and_an_ended_one_not_at_all(client, host, session):
    client.force_login(host)
    with time_machine.travel(START - timedelta(days=3), tick=False):
        far = client.get(_fragment_url(session)).content.decode()
    with time_machine.travel(session.end_at, tick=False):
        ended = client.get(_fragment_url(session)).content.decode()
    assert 'hx-trigger="every 3600s"' in far
    assert "hx-trigger" not in ended


def test_the_hosts_fragment_is_never_cached_and_sends_no_referrer(client, host, session):
    client.force_login(host)
    response = client.get(_fragment_url(session))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_admit_through_htmx_answers_the_refreshed_list(client, host, session, maria):
    tom = _waiting(ParticipantFactory(session=session, name="Tom"))
    _waiting(maria)
    _connect(host, session)
    client.force_login(host)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = client.post(_admit_url(session, maria), headers={"HX-Request": "true"})
    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="waiting-room-{session.pk}"' in content
    assert "Tom" in content and "Maria" not in content
    assert _admit_url(session, tom) in content
    maria.refresh_from_db()
    assert maria.admitted_at == IN_WINDOW


def test_admit_all_as_a_plain_form_goes_back_to_the_session_page(client, host, session, maria):
    _waiting(maria)
    _connect(host, session)
    client.force_login(host)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = client.post(reverse("sessions:admit_all", kwargs={"pk": session.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:detail", kwargs={"pk": session.pk})
    assert "Let in: Maria." in [str(m) for m in get_messages(response.wsgi_request)]


def test_a_plain_admit_comes_back_to_the_page_it_was_made_on(client, host, session, maria):
    _waiting(maria)
    _connect(host, session)
    client.force_login(host)
    room_page = reverse("sessions:video_room", kwargs={"pk": session.pk})
    with time_machine.travel(IN_WINDOW, tick=False):
        content = client.get(room_page).content.decode()
        assert f'name="next" value="{room_page}"' in content
        assert '<meta name="referrer" content="same-origin">' in content
        response = client.post(_admit_url(session, maria), {"next": room_page})
        elsewhere = client.post(_admit_url(session, maria), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == room_page
    assert elsewhere["Location"] == reverse("sessions:detail", kwargs={"pk": session.pk})


def test_a_refusal_through_htmx_is_shown_inside_the_list(client, host, session, maria):
    _waiting(maria)
    client.force_login(host)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = client.post(_admit_url(session, maria), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Connect first" in response.content.decode() and 'role="alert"' in response.content.decode()


def test_the_waiting_list_is_read_in_a_fixed_number_of_queries(client, host, session, maria):
    _waiting(maria)
    _connect(host, session)
    client.force_login(host)

    def queries() -> tuple[int, str]:
        with (
            time_machine.travel(IN_WINDOW, tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            response = client.get(_fragment_url(session))
        return len(captured), response.content.decode()

    one, content = queries()
    assert content.count("data-waiting-participant=") == 1
    for index in range(8):
        _waiting(ParticipantFactory(session=session, name=f"Guest {index}"))
    nine, content = queries()
    assert content.count("data-waiting-participant=") == 9
    assert nine == one
