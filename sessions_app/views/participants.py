"""Participant actions on a scheduled session: add, edit, remind and remove.

Each view loads the session through session_get_for and the participant within it before looking at
the HTTP method, so anything outside the actor's scope is a 404 whatever the verb; then it calls one
service and turns its ApplicationError into a form error or a message. Add and Edit also call
payment_require when the organisation takes payments and the form asks one, in the same transaction.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from billing.forms import (
    PAYMENT_FIELDS,
    PaymentAsk,
    decimal_of,
    payment_ask_of,
    payment_change,
    payment_services,
)
from billing.selectors import payment_for
from billing.services import payment_require
from config.errors import ApplicationError
from contacts.models import InviteMethod
from notifications.models import Notification
from sessions_app.forms.participants import ParticipantAddForm, ParticipantEditForm
from sessions_app.forms.schedule import documents_choices
from sessions_app.models import Participant, Session
from sessions_app.selectors import participant_get_for, session_get_for
from sessions_app.services import participant_add, participant_remind, participant_remove, participant_update
from sessions_app.views.common import form_error, payments_context, refuse_method, safe_next_url


def _session_and_participant(request, pk: int, participant_pk: int) -> tuple[Session, Participant]:
    session = session_get_for(actor=request.user, pk=pk)
    return session, participant_get_for(session=session, pk=participant_pk)


def _next_url(request, session: Session) -> str:
    """Where to go back to: the page the action was started from, if it is one of ours, else the session."""
    return safe_next_url(request, reverse("sessions:detail", kwargs={"pk": session.pk}))


def _saved_message(participant: Participant, *, old_link_version: int) -> str:
    saved = f"{participant.name}'s details are saved."
    if participant.link_version == old_link_version:
        return saved
    if participant.notifications.filter(status=Notification.Status.SENT).exists():
        return f"{saved} The link sent to the old address no longer works; press Remind to send the new one."
    return f"{saved} Messages not yet sent go to the new address."


def _payment_message(ask: PaymentAsk | None) -> str:
    if ask is None:
        return ""
    if ask.amount == 0:
        return " No payment is asked of them any more."
    return f" They are asked to pay {decimal_of(ask.amount)} {ask.currency.upper()} before they can join."


@login_required
def participant_add_view(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    next_url = _next_url(request, session)
    # A participant is asked in the host's zone unless told otherwise; the session says who the host is,
    # which for a scheduler acting for that host is request.host.
    form_options = {
        "default_zone": session.host.time_zone,
        "documents_choices": documents_choices(organization_id=session.organization_id),
        "services": payment_services(organization=session.organization),
    }
    if request.method == "POST":
        form = ParticipantAddForm(request.POST, **form_options)
        if form.is_valid():
            ask = payment_ask_of(form)
            try:
                # One transaction: a refused payment leaves no participant behind and sends no invite (the
                # service hands its notices over only once the outer transaction commits), so the host
                # corrects the form and saves again without adding the person twice.
                with transaction.atomic():
                    participant = participant_add(actor=request.user, session=session, details=form.details())
                    if ask is not None:
                        payment_require(actor=request.user, participant=participant, **ask.arguments())
            except ApplicationError as error:
                form_error(form, error, PAYMENT_FIELDS)
            else:
                if participant.invite_method == InviteMethod.NONE:
                    text = f"{participant.name} is added. No invite is sent: share their join link yourself."
                else:
                    text = f"{participant.name} is added. Their invite is on its way."
                messages.success(request, text + _payment_message(ask))
                return HttpResponseRedirect(next_url)
    else:
        form = ParticipantAddForm(**form_options)
    return render(
        request,
        "sessions_app/participants/participant_add.html",
        {
            "session": session,
            "form": form,
            "next_url": next_url,
            **payments_context(form_options["services"]),
        },
    )


@login_required
def participant_edit_view(request, pk: int, participant_pk: int):
    session, participant = _session_and_participant(request, pk, participant_pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    next_url = _next_url(request, session)
    payment = payment_for(participant)
    form_options = {
        "participant": participant,
        "documents_choices": documents_choices(organization_id=session.organization_id),
        "services": payment_services(organization=session.organization),
        "payment": payment,
    }
    if request.method == "POST":
        form = ParticipantEditForm(request.POST, **form_options)
        if form.is_valid():
            link_version = participant.link_version
            ask = payment_change(form, payment)
            try:
                # One transaction, so a refused payment change leaves the details unsaved too and the form
                # shows both as they were typed.
                with transaction.atomic():
                    participant = participant_update(
                        actor=request.user, participant=participant, **form.changes()
                    )
                    if ask is not None:
                        payment_require(actor=request.user, participant=participant, **ask.arguments())
            except ApplicationError as error:
                form_error(form, error, PAYMENT_FIELDS)
            else:
                text = _saved_message(participant, old_link_version=link_version)
                messages.success(request, text + _payment_message(ask))
                return HttpResponseRedirect(next_url)
    else:
        form = ParticipantEditForm(**form_options)
    return render(
        request,
        "sessions_app/participants/participant_edit.html",
        {
            "session": session,
            "participant": participant,
            "form": form,
            "next_url": next_url,
            "payment": payment,
            **payments_context(form_options["services"]),
        },
    )


@login_required
def participant_remind_view(request, pk: int, participant_pk: int):
    session, participant = _session_and_participant(request, pk, participant_pk)
    if refused := refuse_method(request, "POST"):
        return refused
    next_url = _next_url(request, session)
    try:
        participant_remind(actor=request.user, participant=participant)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"A reminder is on its way to {participant.name}.")
    return HttpResponseRedirect(next_url)


@login_required
def participant_remove_view(request, pk: int, participant_pk: int):
    session, participant = _session_and_participant(request, pk, participant_pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    next_url = _next_url(request, session)
    if request.method == "POST":
        try:
            participant_remove(actor=request.user, participant=participant)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{participant.name} is removed from “{session.title}”.")
        return HttpResponseRedirect(next_url)
    return render(
        request,
        "sessions_app/participants/participant_remove.html",
        {
            "session": session,
            "participant": participant,
            "next_url": next_url,
            "will_be_told": bool(participant.address) and session.is_open,
        },
    )
