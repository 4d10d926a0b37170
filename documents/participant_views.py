"""The participant's documents, on their way in: the list of what they are asked to fill, and one document
to fill (draft or submit), reached with the cookie their join link left (sessions_app.join).

A participant sees only the documents shown to them (documents_shown_to); any other id is a 404, like a
browser without the cookie. Caching and the referrer policy are those of every page of the way in
(sessions_app.join.views.participant_page).
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.throttling import client_address
from billing.selectors import payment_due
from config.errors import ApplicationError
from documents.answers import AnswersRefused, answer_rows
from documents.forms import DocumentFillForm
from documents.models import Submission
from documents.selectors import documents_shown_to, required_documents_missing, submissions_of
from documents.services import answers_closed_reason, submission_save_draft, submission_submit
from sessions_app.join.views import participant_page
from sessions_app.timefmt import format_when
from sessions_app.views.common import refuse_method


def _pay_first(participant):
    # The pay step comes first; the lobby sends them to it.
    return redirect("join:lobby") if payment_due(participant) is not None else None


_participant_page = participant_page(before=_pay_first)


@_participant_page
def participant_documents(request, participant):
    if refused := refuse_method(request, "GET"):
        return refused
    submissions = submissions_of(participant)
    missing = required_documents_missing(participant)
    return render(
        request,
        "documents/participant_documents.html",
        {
            "participant": participant,
            "session": participant.session,
            "items": [(d, submissions.get(d.pk)) for d in documents_shown_to(participant)],
            "missing": missing,
            "closed_reason": answers_closed_reason(participant),
        },
    )


@_participant_page
def participant_document(request, participant, document_pk: int):
    document = next((d for d in documents_shown_to(participant) if d.pk == document_pk), None)
    if document is None:
        raise Http404("Not a document shown to this participant")
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    fields = list(document.fields.all())
    submission = submissions_of(participant).get(document.pk)
    if request.method == "POST":
        form = DocumentFillForm(request.POST, request.FILES, fields=fields, submission=submission)
        if form.is_valid():
            answers, files = form.answers()
            submitting = request.POST.get("action") == "submit"
            save = submission_submit if submitting else submission_save_draft
            try:
                save(
                    participant=participant,
                    document=document,
                    answers=answers,
                    files=files,
                    ip=client_address(request),
                )
            except AnswersRefused as error:
                aliases = form.aliases()
                for field, message in error.errors:
                    form.add_error(aliases.get(field), message)
            except ApplicationError as error:
                aliases = form.aliases()
                form.add_error(aliases.get(error.field or ""), error.message)
            else:
                if submitting:
                    messages.success(request, f"“{document.title}” is submitted. Thank you.")
                    return redirect("join:documents")
                messages.success(
                    request, "Your answers are saved as a draft: you can come back to finish them."
                )
                return redirect("join:document", document_pk=document.pk)
    else:
        form = DocumentFillForm(fields=fields, submission=submission)
    submitted = submission is not None and submission.status == Submission.Status.SUBMITTED
    return render(
        request,
        "documents/participant_document.html",
        {
            "participant": participant,
            "session": participant.session,
            "document": document,
            "form": form,
            "submission": submission,
            "submitted": submitted,
            "rows": answer_rows(submission, fields) if submitted else [],
            "submitted_when": format_when(submission.submitted_at, participant.time_zone)
            if submitted and submission.submitted_at
            else "",
            "closed_reason": answers_closed_reason(participant),
        },
    )
