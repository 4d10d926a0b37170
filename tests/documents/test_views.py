"""The documents pages through HTTP: the editor (hosts and schedulers), the participant's pages (through
their join cookie), the host's reading of submissions, and who may reach what."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership
from config import fragments
from documents.models import Document, DocumentField, Packet, PacketDocument, Submission, SubmissionFile
from documents.services import submission_save_draft, submission_submit
from sessions_app.models import DocumentsShown, Participant, Session
from tests.documents.conftest import PNG, Kind, cookie_client, field_of, make_document, upload
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _editor(document) -> str:
    return reverse("documents:document_edit", kwargs={"pk": document.pk})


def _fill(document) -> str:
    return reverse("join:document", kwargs={"document_pk": document.pk})


# The editor -----------------------------------------------------------------------------------------------


def test_documents_is_in_the_navigation_for_hosts_and_schedulers(client, host, scheduler):
    for user in (host, scheduler):
        client.force_login(user)
        page = client.get(reverse("documents:list")).content.decode()
        assert f'href="{reverse("documents:list")}" aria-current="page">Documents</a>' in page


def test_a_host_creates_a_document_adds_reorders_and_removes_fields_with_a_preview(client, host):
    client.force_login(host)
    response = client.post(
        reverse("documents:document_create"),
        {
            "title": "Intake form",
            "instructions": "Before your first visit.",
            "is_active": "on",
            "is_required": "on",
        },
    )
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == _editor(document)
    assert document.is_required and document.organization == host.organization

    add = reverse("documents:field_add", kwargs={"pk": document.pk})
    client.post(add, {"kind": "short_text", "label": "Full name", "required": "on"})
    client.post(add, {"kind": "single_choice", "label": "Best time", "choices": "Morning\r\nEvening\r\n"})
    response = client.post(add, {"kind": "single_choice", "label": "No options", "choices": ""})
    assert response.status_code == 200 and "List the options, one per line." in response.content.decode()
    name, best = document.fields.order_by("position")

    move = reverse("documents:field_move", kwargs={"pk": document.pk, "field_pk": best.pk})
    assert client.post(move, {"direction": "up"}).status_code == 302
    assert list(document.fields.order_by("position").values_list("label", flat=True)) == [
        "Best time",
        "Full name",
    ]

    page = client.get(_editor(document)).content.decode()
    preview = page[page.index('id="document-preview"') :]
    assert preview.index("Best time") < preview.index("Full name *")
    assert f'name="preview-field_{name.pk}"' in preview and "disabled" in preview
    assert 'value="Morning"' in preview

    edit = reverse("documents:field_edit", kwargs={"pk": document.pk, "field_pk": best.pk})
    assert client.get(edit).status_code == 200
    client.post(edit, {"kind": "multiple_choice", "label": "Best times", "choices": "Morning\nNoon"})
    best.refresh_from_db()
    assert (best.kind, best.label, best.choices) == ("multiple_choice", "Best times", ["Morning", "Noon"])

    remove = reverse("documents:field_remove", kwargs={"pk": document.pk, "field_pk": name.pk})
    assert client.post(remove).status_code == 302
    assert list(document.fields.values_list("label", flat=True)) == ["Best times"]
    assert AuditEvent.objects.filter(actor=host, action__startswith="document").count() == 6


def test_deleting_an_answered_document_says_it_is_deactivated_instead(client, host, participant):
    document = make_document(host.organization, kinds=[Kind.SHORT_TEXT])
    submission_save_draft(participant=participant, document=document, answers={}, files={})
    client.force_login(host)
    url = reverse("documents:document_delete", kwargs={"pk": document.pk})

    assert "deactivated instead of deleted" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert "so it is deactivated instead of deleted" in _messages(response)[0]
    assert Document.objects.get().is_active is False


def test_a_scheduler_makes_a_packet_ordered_by_number(client, scheduler, host):
    intake = make_document(host.organization, "Intake")
    consent = make_document(host.organization, "Consent")
    make_document(host.organization, "Left out")
    client.force_login(scheduler)

    response = client.post(
        reverse("documents:packet_create"),
        {"name": "First visit", f"document_{intake.pk}": "2", f"document_{consent.pk}": "1"},
    )
    assert response.status_code == 302
    packet = Packet.objects.get()
    assert list(packet.entries.values_list("document__title", flat=True)) == ["Consent", "Intake"]

    response = client.get(reverse("documents:packet_edit", kwargs={"pk": packet.pk}))
    assert f'name="document_{consent.pk}" value="1"' in response.content.decode()
    client.post(reverse("documents:packet_delete", kwargs={"pk": packet.pk}))
    assert not Packet.objects.exists()


# The participant's pages ----------------------------------------------------------------------------------


def test_a_participant_fills_saves_a_draft_submits_and_then_only_reads(participant, intake):
    client = cookie_client(participant)
    short, long_text = field_of(intake, Kind.SHORT_TEXT), field_of(intake, Kind.LONG_TEXT)

    listing = client.get(reverse("join:documents"))
    assert listing.status_code == 200 and listing["Referrer-Policy"] == "same-origin"
    assert "no-cache" in listing["Cache-Control"] or "max-age=0" in listing["Cache-Control"]
    page = listing.content.decode()
    assert "Intake form" in page and "Required" in page and "To fill in" in page
    assert '<button type="button" class="btn btn-primary" disabled>Continue</button>' in page

    response = client.post(_fill(intake), {f"field_{short.pk}": "Maria", "action": "draft"})
    assert response.status_code == 302 and response["Location"] == _fill(intake)
    assert Submission.objects.get().status == Submission.Status.DRAFT
    page = client.get(_fill(intake)).content.decode()
    assert 'value="Maria"' in page
    assert "Draft" in client.get(reverse("join:documents")).content.decode()

    markup = "<script>alert('x')</script>"
    response = client.post(
        _fill(intake),
        {f"field_{short.pk}": "Maria", f"field_{long_text.pk}": markup, "action": "submit"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("join:documents")
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.SUBMITTED

    # The pages post forms: same-origin (not no-referrer) so the POST carries the Origin CSRF needs.
    assert response["Referrer-Policy"] == "same-origin"
    read_only = client.get(_fill(intake))
    page = read_only.content.decode()
    assert read_only["Referrer-Policy"] == "same-origin"
    assert "It can no longer be changed." in page and 'name="action"' not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and markup not in page
    response = client.post(_fill(intake), {f"field_{short.pk}": "Changed", "action": "submit"})
    assert "already submitted" in response.content.decode()
    assert Submission.objects.get().answers[str(short.pk)] == "Maria"

    page = client.get(reverse("join:documents")).content.decode()
    assert f'href="{reverse("join:lobby")}">Continue</a>' in page


def test_the_fill_page_shows_every_refused_answer_on_its_field(participant, intake):
    client = cookie_client(participant)
    date_field, yes_no = field_of(intake, Kind.DATE), field_of(intake, Kind.YES_NO)

    response = client.post(
        _fill(intake),
        {f"field_{date_field.pk}": "3000-01-01", f"field_{yes_no.pk}": "perhaps", "action": "draft"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors[f"field_{date_field.pk}"] == [
        "Enter a date between 1900 and 2100 for “date question”."
    ]
    assert form.errors[f"field_{yes_no.pk}"] == ["Answer “yes_no question” with yes or no."]
    assert not Submission.objects.exists()


def test_a_participant_uploads_a_file_through_the_page(participant, intake):
    client = cookie_client(participant)
    file_field = field_of(intake, Kind.FILE)

    response = client.post(
        _fill(intake),
        {f"field_{file_field.pk}": upload(PNG, name="card.png", content_type="image/png"), "action": "draft"},
    )
    assert response.status_code == 302
    assert SubmissionFile.objects.get().content_type == "image/png"
    assert "Sent: card.png" in client.get(_fill(intake)).content.decode()

    response = client.post(
        _fill(intake), {f"field_{file_field.pk}": upload(b"MZ\x90\x00", name="card.png"), "action": "draft"}
    )
    assert "must be a PDF or an image (PNG or JPEG)" in response.content.decode()


def test_after_the_end_the_pages_say_so_and_refuse_answers(participant, intake):
    client = cookie_client(participant)
    Session.objects.filter(pk=participant.session_id).update(
        start_at=timezone.now() - timedelta(hours=2), end_at=timezone.now() - timedelta(minutes=5)
    )
    short = field_of(intake, Kind.SHORT_TEXT)

    assert "This session has ended" in client.get(reverse("join:documents")).content.decode()
    response = client.post(_fill(intake), {f"field_{short.pk}": "Late", "action": "submit"})
    assert response.status_code == 200 and "This session has ended" in response.content.decode()
    assert not Submission.objects.exists()


def test_a_participants_cookie_reaches_only_documents_shown_to_them(host, session, participant, intake):
    hidden = make_document(host.organization, "Inactive", active=False, kinds=[Kind.SHORT_TEXT])
    foreign = make_document(member(role=Membership.Role.HOST).organization, "Theirs", kinds=[Kind.SHORT_TEXT])
    packet = Packet.objects.create(organization=host.organization, name="Other packet")
    in_packet_only = make_document(host.organization, "Packet only", kinds=[Kind.SHORT_TEXT])
    PacketDocument.objects.create(packet=packet, document=in_packet_only)
    nobody = ParticipantFactory(session=session, documents_shown=DocumentsShown.NONE)
    client = cookie_client(nobody)

    for document in (intake, hidden, foreign, in_packet_only):
        for response in (client.get(_fill(document)), client.post(_fill(document), {"action": "submit"})):
            assert response.status_code == 404
            assert response["Referrer-Policy"] == "same-origin"
    assert "nothing for you to fill in" in client.get(reverse("join:documents")).content.decode()
    assert not Submission.objects.exists()


def test_without_the_cookie_the_participant_pages_are_a_plain_404(client, intake):
    for url in (reverse("join:documents"), _fill(intake)):
        response = client.get(url)
        assert response.status_code == 404 and response["Referrer-Policy"] == "same-origin"


def test_a_participant_cannot_read_another_participants_submission(session, participant, intake):
    other = ParticipantFactory(session=session, name="Other")
    submission = submission_submit(
        participant=other,
        document=intake,
        answers={str(field_of(intake, Kind.SHORT_TEXT).pk): "Secret"},
        files={},
    )
    client = cookie_client(participant)

    # Their own page of the same document is their own (empty) answer, not the other participant's.
    assert "Secret" not in client.get(_fill(intake)).content.decode()
    for name in ("documents:submission_detail", "documents:submission_print"):
        response = client.get(reverse(name, kwargs={"pk": submission.pk}))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# The host's pages of submissions --------------------------------------------------------------------------


def _submitted(participant, intake, uploads_too=True):
    files = {str(field_of(intake, Kind.FILE).pk): upload(PNG, name="card.png")} if uploads_too else {}
    return submission_submit(
        participant=participant,
        document=intake,
        answers={
            str(field_of(intake, Kind.LONG_TEXT).pk): "<b>not bold</b>",
            str(field_of(intake, Kind.SIGNATURE).pk): "Maria Client",
        },
        files=files,
        ip="198.51.100.7",
    )


def test_the_host_reads_and_prints_a_submission_and_downloads_its_file(
    client, host, scheduler, participant, intake
):
    submission = _submitted(participant, intake)
    stored = SubmissionFile.objects.get()

    for user in (host, scheduler):
        client.force_login(user)
        page = client.get(reverse("documents:submission_detail", kwargs={"pk": submission.pk}))
        text = page.content.decode()
        assert page.status_code == 200 and "&lt;b&gt;not bold&lt;/b&gt;" in text and "<b>not bold" not in text
        assert "Maria Client" in text and "198.51.100.7" in text
        assert reverse("documents:submission_file", kwargs={"pk": stored.pk}) in text

    printed = client.get(reverse("documents:submission_print", kwargs={"pk": submission.pk})).content.decode()
    assert "navbar" not in printed and "js/print.js" in printed and "css/print.css" in printed
    assert "data-print" in printed and "onclick" not in printed

    response = client.get(reverse("documents:submission_file", kwargs={"pk": stored.pk}))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="card.png"'
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_another_organisations_documents_packets_submissions_and_files_are_404(
    client, host, participant, intake
):
    submission = _submitted(participant, intake)
    packet = Packet.objects.create(organization=host.organization, name="Intake")
    field = field_of(intake, Kind.SHORT_TEXT)
    stranger = member(role=Membership.Role.HOST, full_name="Foreign host")
    client.force_login(stranger)
    urls = [
        reverse("documents:document_edit", kwargs={"pk": intake.pk}),
        reverse("documents:document_delete", kwargs={"pk": intake.pk}),
        reverse("documents:field_add", kwargs={"pk": intake.pk}),
        reverse("documents:field_edit", kwargs={"pk": intake.pk, "field_pk": field.pk}),
        reverse("documents:field_move", kwargs={"pk": intake.pk, "field_pk": field.pk}),
        reverse("documents:field_remove", kwargs={"pk": intake.pk, "field_pk": field.pk}),
        reverse("documents:packet_edit", kwargs={"pk": packet.pk}),
        reverse("documents:packet_delete", kwargs={"pk": packet.pk}),
        reverse("documents:submission_detail", kwargs={"pk": submission.pk}),
        reverse("documents:submission_print", kwargs={"pk": submission.pk}),
        reverse("documents:submission_file", kwargs={"pk": SubmissionFile.objects.get().pk}),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"direction": "up", "title": "Mine", "name": "Mine"}).status_code == 404, url
    assert "Intake form" not in client.get(reverse("documents:list")).content.decode()
    assert DocumentField.objects.filter(pk=field.pk).exists() and Packet.objects.exists()


def test_a_field_of_another_document_is_404_under_this_one(client, host, intake):
    other = make_document(host.organization, "Other", kinds=[Kind.SHORT_TEXT])
    client.force_login(host)
    url = reverse("documents:field_remove", kwargs={"pk": intake.pk, "field_pk": other.fields.get().pk})
    assert client.post(url).status_code == 404
    assert other.fields.exists()


# The session page and the participant forms ---------------------------------------------------------------


def test_the_session_page_shows_each_participants_documents(client, host, session, participant, intake):
    optional = make_document(host.organization, "Optional extra", kinds=[Kind.SHORT_TEXT])
    submission = _submitted(participant, intake, uploads_too=False)
    submission_save_draft(participant=participant, document=optional, answers={}, files={})
    ParticipantFactory(session=session, name="Lee Nothing", documents_shown=DocumentsShown.NONE)
    client.force_login(host)

    page = client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).content.decode()
    section = page[page.index('id="session-documents"') :]
    assert "Shown: All documents" in section and "Shown: No documents" in section
    assert 'data-document-status="submitted"' in section and 'data-document-status="draft"' in section
    assert reverse("documents:submission_detail", kwargs={"pk": submission.pk}) in section
    assert reverse("documents:submission_print", kwargs={"pk": submission.pk}) in section


def test_the_session_page_says_nothing_of_documents_when_none_are_asked(client, host, session, participant):
    make_document(host.organization, "Retired", active=False)
    client.force_login(host)
    page = client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert 'id="session-documents"' not in page


def _add_participants(session, count):
    for index in range(count):
        contact = ContactFactory(organization=session.organization)
        participant = ParticipantFactory(session=session, contact=contact, name=f"Person {index}")
        document = Document.objects.filter(organization=session.organization).order_by("id").first()
        Submission.objects.create(
            organization=session.organization, participant=participant, document=document, status="submitted"
        )


def test_the_session_pages_documents_do_not_grow_in_queries_with_participants(client, host, session):
    make_document(host.organization, "Consent", required=True)
    make_document(host.organization, "History")
    packet = Packet.objects.create(organization=host.organization, name="Short")
    client.force_login(host)
    url = reverse("sessions:detail", kwargs={"pk": session.pk})

    def count() -> tuple[int, str]:
        fragments.store.clear()  # the page rendered, not served again (tests/test_page_fragments.py)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), response.content.decode()

    _add_participants(session, 2)
    ParticipantFactory(session=session, documents_shown=DocumentsShown.PACKET, documents_packet=packet)
    two, page = count()
    assert page.count("data-participant-documents=") == 3

    _add_participants(session, 8)
    ParticipantFactory(session=session, documents_shown=DocumentsShown.PACKET, documents_packet=packet)
    ten, page = count()
    assert page.count("data-participant-documents=") == 12
    assert page.count('data-document-status="submitted"') == 10
    assert ten == two


def test_the_participant_forms_ask_which_documents_only_once_a_document_is_active(
    client, host, session, participant
):
    client.force_login(host)
    add = reverse("sessions:participant_add", kwargs={"pk": session.pk})
    edit = reverse("sessions:participant_edit", kwargs={"pk": session.pk, "participant_pk": participant.pk})
    schedule = reverse("sessions:schedule")
    for url in (add, edit, schedule):
        assert "Show participant documents" not in client.get(url).content.decode()

    make_document(host.organization, "Consent")
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    for url in (add, edit, schedule):
        page = client.get(url).content.decode()
        assert "Show participant documents" in page and f'value="packet:{packet.pk}"' in page

    client.post(
        edit,
        {
            "invite_method": "email",
            "email": participant.email,
            "time_zone": "UTC",
            "documents_shown": f"packet:{packet.pk}",
        },
    )
    participant.refresh_from_db()
    assert (participant.documents_shown, participant.documents_packet_id) == ("packet", packet.pk)

    client.post(
        add,
        {
            "name": "Kim New",
            "invite_method": "email",
            "email": "kim@example.test",
            "time_zone": "UTC",
            "documents_shown": "none",
        },
    )
    assert Participant.objects.get(name="Kim New").documents_shown == DocumentsShown.NONE


def test_the_schedule_form_takes_a_packet_per_participant(client, host):
    make_document(host.organization, "Consent")
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    client.force_login(host)
    start = timezone.now().astimezone(host.zone) + timedelta(days=3)
    response = client.post(
        reverse("sessions:schedule"),
        {
            "title": "Therapy",
            "date": f"{start:%Y-%m-%d}",
            "time": "10:00",
            "duration_minutes": "50",
            "participants-TOTAL_FORMS": "1",
            "participants-INITIAL_FORMS": "0",
            "participants-MIN_NUM_FORMS": "1",
            "participants-MAX_NUM_FORMS": "20",
            "participants-0-name": "Kim New",
            "participants-0-invite_method": "email",
            "participants-0-email": "kim@example.test",
            "participants-0-time_zone": "UTC",
            "participants-0-documents_shown": f"packet:{packet.pk}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    participant = Participant.objects.get()
    assert (participant.documents_shown, participant.documents_packet_id) == ("packet", packet.pk)


def test_the_lobby_sends_a_participant_with_a_missing_required_document_to_their_documents(
    participant, intake
):
    Session.objects.filter(pk=participant.session_id).update(
        start_at=timezone.now() - timedelta(minutes=1), end_at=timezone.now() + timedelta(minutes=49)
    )
    client = cookie_client(participant)
    response = client.get(reverse("join:lobby"))
    assert response.status_code == 302 and response["Location"] == reverse("join:documents")


def test_another_sessions_participant_cannot_use_a_session_they_are_not_on(host, participant, intake):
    elsewhere = SessionFactory(host=member(role=Membership.Role.HOST), title="Elsewhere")
    stranger = ParticipantFactory(session=elsewhere)
    client = cookie_client(stranger)
    assert client.get(_fill(intake)).status_code == 404
