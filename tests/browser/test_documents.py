"""The documents pages in Chromium: the editor's script, a participant filling and submitting through their
join link, and the print page's button, with no Content-Security-Policy violation on the way."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from documents.models import Document, DocumentField, Submission
from sessions_app.join.links import join_url
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


def _watch_policy(page) -> list[str]:
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    return refused


def test_a_host_edits_a_document_and_a_participant_submits_it(
    page, new_context, live_server, host, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1), title="Intake")
    participant = ParticipantFactory(session=session, name="Maria")
    document = Document.objects.create(organization=host.organization, title="Consent form", is_required=True)
    refused = _watch_policy(page)

    log_in(page, live_server, host)
    page.goto(live_server.url + reverse("documents:document_edit", kwargs={"pk": document.pk}))
    add = page.locator("#field-add-form")
    options = add.get_by_label("Options")
    expect(options).to_be_hidden()
    add.get_by_label("Kind").select_option("single_choice")
    expect(options).to_be_visible()
    options.fill("Yes, I agree\nNo")
    add.get_by_label("Label").fill("Do you agree?")
    add.get_by_label("Required").check()
    add.get_by_role("button", name="Add field").click()
    expect(page.locator("#document-preview")).to_contain_text("Do you agree? *")
    assert DocumentField.objects.get().choices == ["Yes, I agree", "No"]

    guest = new_context().new_page()
    refused += _watch_policy(guest)
    link = urlsplit(join_url(participant))
    guest.goto(live_server.url + reverse("join:documents"))
    guest.goto(live_server.url + link.path)
    guest.goto(live_server.url + reverse("join:documents"))
    expect(guest.get_by_role("button", name="Continue")).to_be_disabled()
    guest.get_by_role("link", name="Fill in Consent form").click()
    guest.get_by_label("Yes, I agree").check()
    guest.get_by_role("button", name="Submit").click()
    expect(guest.get_by_text("“Consent form” is submitted.")).to_be_visible()
    expect(guest.get_by_role("link", name="Continue")).to_be_visible()
    submission = Submission.objects.get()

    page.goto(live_server.url + reverse("documents:submission_print", kwargs={"pk": submission.pk}))
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="Print").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
    assert refused == []
