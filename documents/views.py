"""The document editor and the host's view of submissions, for the organisation's hosts and schedulers.

Every view loads its objects through the scoped selectors before it looks at the HTTP method, so anything of
another organisation is a 404 whatever the verb; then it calls one service and shows its refusal on the
form. Submissions and their files are the participants' own words (often about their health): their pages
are never cached, and files are only ever downloaded, never shown inline.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from config.errors import ApplicationError
from documents.answers import answer_rows
from documents.forms import DocumentFieldForm, DocumentFillForm, DocumentForm, PacketForm
from documents.models import Document, Packet, Submission
from documents.selectors import (
    documents_of,
    packets_of,
    submission_files_readable_by,
    submissions_readable_by,
)
from documents.services import (
    document_create,
    document_delete,
    document_field_add,
    document_field_move,
    document_field_remove,
    document_field_update,
    document_update,
    packet_create,
    packet_delete,
    packet_update,
)
from sessions_app.views.common import form_error, refuse_method


def _require_editor(request) -> None:
    user = request.user
    if user.organization is None or not (user.is_host or user.is_scheduler):
        raise Http404("This account edits no documents.")


def _editor_url(document: Document, anchor: str = "") -> str:
    return reverse("documents:document_edit", kwargs={"pk": document.pk}) + anchor


@login_required
def document_list(request):
    _require_editor(request)
    if refused := refuse_method(request, "GET"):
        return refused
    return render(
        request,
        "documents/document_list.html",
        {
            "documents": documents_of(request.user).order_by("-is_active", "title", "id"),
            "packets": packets_of(request.user).order_by("name", "id"),
        },
    )


@login_required
def document_create_view(request):
    _require_editor(request)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = DocumentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = document_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"“{document.title}” is created. Add its fields below.")
            return redirect(_editor_url(document))
    return render(request, "documents/document_form.html", {"form": form})


def _render_editor(request, document: Document, *, form=None, field_form=None):
    fields = list(document.fields.order_by("position", "id"))
    return render(
        request,
        "documents/document_editor.html",
        {
            "document": document,
            "form": form or DocumentForm(document=document),
            "field_form": field_form or DocumentFieldForm(),
            "fields": fields,
            "preview": DocumentFillForm(fields=fields, disabled=True, prefix="preview"),
        },
    )


@login_required
def document_edit_view(request, pk: int):
    document = get_object_or_404(documents_of(request.user), pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return _render_editor(request, document)
    form = DocumentForm(request.POST, document=document)
    if form.is_valid():
        try:
            document = document_update(actor=request.user, document=document, **form.cleaned_data)
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"“{document.title}” is saved.")
            return redirect(_editor_url(document))
    return _render_editor(request, document, form=form)


@login_required
def document_delete_view(request, pk: int):
    document = get_object_or_404(documents_of(request.user), pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, "documents/document_delete.html", {"document": document})
    try:
        deleted = document_delete(actor=request.user, document=document)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_editor_url(document))
    if deleted:
        messages.success(request, f"“{document.title}” is deleted.")
    else:
        messages.warning(
            request,
            f"“{document.title}” has answers from participants, so it is deactivated instead of deleted: "
            "participants no longer see it, and the answers stay readable.",
        )
    return redirect("documents:list")


@login_required
def field_add_view(request, pk: int):
    document = get_object_or_404(documents_of(request.user), pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    form = DocumentFieldForm(request.POST)
    if form.is_valid():
        try:
            field = document_field_add(actor=request.user, document=document, **form.values())
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"The field “{field.label}” is added.")
            return redirect(_editor_url(document, "#fields"))
    return _render_editor(request, document, field_form=form)


def _document_and_field(request, pk: int, field_pk: int):
    document = get_object_or_404(documents_of(request.user), pk=pk)
    return document, get_object_or_404(document.fields.all(), pk=field_pk)


@login_required
def field_edit_view(request, pk: int, field_pk: int):
    document, field = _document_and_field(request, pk, field_pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "POST":
        form = DocumentFieldForm(request.POST, field=field)
        if form.is_valid():
            try:
                field = document_field_update(actor=request.user, field=field, **form.values())
            except ApplicationError as error:
                form_error(form, error)
            else:
                messages.success(request, f"The field “{field.label}” is saved.")
                return redirect(_editor_url(document, "#fields"))
    else:
        form = DocumentFieldForm(field=field)
    return render(request, "documents/field_form.html", {"document": document, "field": field, "form": form})


@login_required
def field_move_view(request, pk: int, field_pk: int):
    document, field = _document_and_field(request, pk, field_pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        document_field_move(actor=request.user, field=field, direction=request.POST.get("direction", ""))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(_editor_url(document, "#fields"))


@login_required
def field_remove_view(request, pk: int, field_pk: int):
    document, field = _document_and_field(request, pk, field_pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        document_field_remove(actor=request.user, field=field)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The field “{field.label}” is removed.")
    return redirect(_editor_url(document, "#fields"))


def _packet_form(request, packet: Packet | None = None) -> PacketForm:
    documents = list(documents_of(request.user).order_by("-is_active", "title", "id"))
    entries = [e.document_id for e in packet.entries.all()] if packet is not None else None
    initial = {"name": packet.name} if packet is not None else None
    data = request.POST if request.method == "POST" else None
    return PacketForm(data, documents=documents, entries=entries, initial=initial)


def _save_packet(request, form: PacketForm, packet: Packet | None):
    if not form.is_valid():
        return None
    try:
        if packet is None:
            return packet_create(
                actor=request.user, name=form.cleaned_data["name"], document_ids=form.document_ids()
            )
        return packet_update(
            actor=request.user,
            packet=packet,
            name=form.cleaned_data["name"],
            document_ids=form.document_ids(),
        )
    except ApplicationError as error:
        form_error(form, error)
        return None


@login_required
def packet_create_view(request):
    _require_editor(request)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = _packet_form(request)
    if request.method == "POST" and (packet := _save_packet(request, form, None)) is not None:
        messages.success(request, f"The packet “{packet.name}” is created.")
        return redirect("documents:list")
    return render(request, "documents/packet_form.html", {"form": form, "packet": None})


@login_required
def packet_edit_view(request, pk: int):
    packet = get_object_or_404(packets_of(request.user), pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = _packet_form(request, packet)
    if request.method == "POST" and (saved := _save_packet(request, form, packet)) is not None:
        messages.success(request, f"The packet “{saved.name}” is saved.")
        return redirect("documents:list")
    return render(request, "documents/packet_form.html", {"form": form, "packet": packet})


@login_required
def packet_delete_view(request, pk: int):
    packet = get_object_or_404(packets_of(request.user), pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(
            request, "documents/packet_delete.html", {"packet": packet, "in_use": packet.participants.count()}
        )
    try:
        packet_delete(actor=request.user, packet=packet)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The packet “{packet.name}” is deleted.")
    return redirect("documents:list")


def _submission_page(request, pk: int, template: str):
    submission = get_object_or_404(submissions_readable_by(request.user), pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    # A draft reads against the document's fields as they are now; a submission against its snapshot.
    fields = [] if submission.snapshot else list(submission.document.fields.order_by("position", "id"))
    participant = submission.participant
    return render(
        request,
        template,
        {
            "submission": submission,
            "rows": answer_rows(submission, fields),
            "person": participant.name if participant else (submission.contact or "A former participant"),
            "session": participant.session if participant else None,
            "submitted": submission.status == Submission.Status.SUBMITTED,
        },
    )


@never_cache
@login_required
def submission_detail(request, pk: int):
    return _submission_page(request, pk, "documents/submission_detail.html")


@never_cache
@login_required
def submission_print(request, pk: int):
    return _submission_page(request, pk, "documents/submission_print.html")


@never_cache
@login_required
def submission_file(request, pk: int):
    stored = get_object_or_404(submission_files_readable_by(request.user), pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    try:
        handle = stored.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("The file is missing from storage.") from error
    # An attachment of the type its content was checked to be, never sniffed into something else: an
    # upload can never run as a page of this site.
    response = FileResponse(
        handle, as_attachment=True, filename=stored.original_name, content_type=stored.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
