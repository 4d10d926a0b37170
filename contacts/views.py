"""The Contacts page: the organisation's address book, its CSV import and export, privacy requests, and the
autofill of the participant forms.

Every contact is loaded through contact_get_for, in the actor's organisation (a 404 outside it), before the
HTTP method is looked at; each change is one service call whose refusal becomes a form error or a message.
"""

import json
import secrets
from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import organization_page
from config.csv import csv_lines
from config.errors import ApplicationError
from contacts.forms import ContactForm, ContactImportForm, ContactSearchForm
from contacts.imports import details_from_session, details_to_session, import_rows_read
from contacts.models import Contact
from contacts.selectors import (
    contact_get_for,
    contact_participations_open,
    contact_session_history,
    contact_submissions,
    contacts_matching,
    contacts_search,
)
from contacts.services import (
    contact_create,
    contact_delete,
    contact_erase,
    contact_export_data,
    contact_update,
    contact_viewed,
    contacts_exported,
    contacts_import,
)
from sessions_app.views.common import form_error, refuse_method


@login_required
@require_GET
@never_cache
def contact_autocomplete(request):
    """Contacts of the actor's own organisation for the participant forms' autofill, as JSON.

    The scope is the logged-in person's organisation, never a parameter, so nobody can look into another
    organisation's address book. The script renders the values as text, never as HTML.
    """
    contacts = contacts_matching(organization=request.user.organization, query=request.GET.get("q", ""))
    results = [
        {
            "id": contact.pk,
            "name": contact.name,
            "email": contact.email,
            "phone": str(contact.phone) if contact.phone else "",
            "preferred_method": contact.preferred_method,
            "time_zone": contact.time_zone,
        }
        for contact in contacts
    ]
    return JsonResponse({"results": results})


CONTACTS_PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 25
SUBMISSIONS_SHOWN = 100
# The checked rows of an upload wait in the user's own server-side session between the preview and the
# confirmation, with a random key in the confirmation's URL: a hidden form field would let the browser send
# back rows that were never checked, and a preview left open in another tab cannot confirm a newer upload
# (one import waits at a time, the latest).
IMPORT_SESSION_KEY = "contacts-import"
EXPORT_COLUMNS = ["name", "email", "phone", "preferred_method", "time_zone", "note"]


contacts_manager_required = organization_page("contacts")


@contacts_manager_required
def contact_list(request):
    if refused := refuse_method(request, "GET"):
        return refused
    form = ContactSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else None
    contacts = (
        contacts_search(actor=request.user, query=query) if query is not None else Contact.objects.none()
    )
    page = Paginator(contacts, CONTACTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contacts/contact_list.html", {"form": form, "page": page, "query": query or ""})


@contacts_manager_required
def contact_create_view(request):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = ContactForm(request.POST or None, default_zone=request.user.time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(
                actor=request.user, organization=request.user.organization, details=form.details()
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"{contact.name} is added to your contacts.")
            return redirect("contacts:detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@contacts_manager_required
def contact_detail(request, pk: int):
    contact = contact_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    # A GET that writes one audit row: reading a person's details is what the row records, so it is written
    # by the read itself (every page of the history counts as a view).
    contact_viewed(actor=request.user, contact=contact)
    history = Paginator(contact_session_history(actor=request.user, contact=contact), HISTORY_PAGE_SIZE)
    submissions = list(contact_submissions(contact=contact)[:SUBMISSIONS_SHOWN])
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "history": history.get_page(request.GET.get("page")),
            "submissions": submissions,
            "submissions_cut": len(submissions) == SUBMISSIONS_SHOWN,
        },
    )


@contacts_manager_required
def contact_edit_view(request, pk: int):
    contact = contact_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = ContactForm(request.POST or None, contact=contact, default_zone=contact.time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_update(actor=request.user, contact=contact, details=form.details())
        except ApplicationError as error:
            form_error(form, error)
        else:
            text = f"{contact.name}'s details are saved."
            if contact_participations_open(contact=contact).exists():
                text += " Their sessions still to come use them too."
            messages.success(request, text)
            return redirect("contacts:detail", pk=contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@contacts_manager_required
def contact_delete_view(request, pk: int):
    contact = contact_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "POST":
        try:
            contact_delete(actor=request.user, contact=contact)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("contacts:detail", pk=contact.pk)
        messages.success(request, f"{contact.name} is deleted from your contacts.")
        return redirect("contacts:list")
    return render(
        request,
        "contacts/contact_delete.html",
        {"contact": contact, "upcoming": contact_participations_open(contact=contact).count()},
    )


@contacts_manager_required
def contact_export_data_view(request, pk: int):
    contact = contact_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return render(request, "contacts/contact_export_data.html", {"contact": contact})
    data = contact_export_data(actor=request.user, contact=contact)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    # Named by the contact's id, not their name: file names end up in download folders and logs.
    today = timezone.now().astimezone(request.user.zone).date()
    response["Content-Disposition"] = (
        f'attachment; filename="contact-{contact.pk}-data-{today:%Y-%m-%d}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


@contacts_manager_required
def contact_erase_view(request, pk: int):
    contact = contact_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "POST":
        try:
            contact_erase(actor=request.user, contact=contact)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("contacts:detail", pk=contact.pk)
        messages.success(request, "The contact's personal data is erased.")
        return redirect("contacts:list")
    return render(
        request,
        "contacts/contact_erase.html",
        {"contact": contact, "upcoming": contact_participations_open(contact=contact).count()},
    )


@contacts_manager_required
def contacts_import_view(request):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = ContactImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            rows = import_rows_read(
                upload=form.cleaned_data["file"],
                organization=request.user.organization,
                default_zone=request.user.time_zone,
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            key = secrets.token_urlsafe(16)
            importable = details_to_session(rows)
            request.session[IMPORT_SESSION_KEY] = {
                "key": key,
                "organization_id": request.user.organization.id,
                "people": importable,
            }
            return render(
                request,
                "contacts/contact_import_preview.html",
                {"rows": rows, "key": key, "count": len(importable)},
            )
    return render(request, "contacts/contact_import.html", {"form": form})


@contacts_manager_required
def contacts_import_confirm_view(request, key: str):
    stored = request.session.get(IMPORT_SESSION_KEY) or {}
    if not (
        secrets.compare_digest(str(stored.get("key", "")).encode(), key.encode())
        and stored.get("organization_id") == request.user.organization.id
    ):
        messages.info(request, "That import is done or has expired. Upload the file again to import it.")
        return redirect("contacts:import")
    if refused := refuse_method(request, "POST"):
        return refused
    del request.session[IMPORT_SESSION_KEY]
    try:
        contacts = contacts_import(
            actor=request.user,
            organization=request.user.organization,
            people=details_from_session(stored["people"]),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("contacts:import")
    messages.success(request, f"{len(contacts):,} contacts imported.")
    return redirect("contacts:list")


@contacts_manager_required
def contacts_export_csv(request):
    if refused := refuse_method(request, "GET"):
        return refused
    # A GET that writes one audit row: the address book leaving the product is what it records.
    contacts_exported(actor=request.user, organization=request.user.organization)
    contacts = contacts_search(actor=request.user).iterator(chunk_size=500)
    rows = chain(
        [EXPORT_COLUMNS],
        ([c.name, c.email, str(c.phone or ""), c.preferred_method, c.time_zone, c.note] for c in contacts),
    )
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    today = timezone.now().astimezone(request.user.zone).date()
    organization = request.user.organization
    response["Content-Disposition"] = (
        f'attachment; filename="contacts-{organization.slug or organization.pk}-{today:%Y-%m-%d}.csv"'
    )
    return response
