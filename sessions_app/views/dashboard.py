from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from billing.forms import PAYMENT_FIELDS, payment_services
from billing.services import PaymentAskRefused
from config.errors import ApplicationError
from config.fragments import page_fragment
from documents.selectors import documents_status_for_session
from sessions_app.forms.schedule import ParticipantFormSet, SessionScheduleForm, documents_choices
from sessions_app.join.links import join_url
from sessions_app.models import Session
from sessions_app.selectors import (
    participants_cancelled_themselves,
    participants_waiting,
    session_get_for,
    session_page_participants,
    session_refunds_and_invoices,
    sessions_upcoming_for,
)
from sessions_app.services import session_connect, session_schedule
from sessions_app.templatetags.session_actions import prepare_session_rows, session_action_items
from sessions_app.timefmt import in_zone
from sessions_app.video import video_provider
from sessions_app.views.common import (
    form_error,
    host_required,
    payments_asked_message,
    payments_context,
    refuse_method,
)
from sessions_app.views.schedule_availability import booking_note
from sessions_app.views.waiting_room import waiting_room_context


@host_required
def dashboard(request, host):
    if refused := refuse_method(request, "GET"):
        return refused
    return_to = request.get_full_path()
    can_connect = request.user.pk == host.pk

    def load() -> dict:
        days: dict = {}
        sessions = list(sessions_upcoming_for(actor=request.user, host=host))
        prepare_session_rows(sessions, next_url=return_to)
        for session in sessions:
            session.waiting_room = waiting_room_context(
                session=session,
                viewer=request.user,
                participants=session.active_participants,
                return_to=return_to,
            )
            days.setdefault(in_zone(session.start_at, request.user.time_zone).date(), []).append(session)
        return {"days": days, "sessions": sessions, "can_connect": can_connect}

    rows = page_fragment(
        request,
        name="dashboard",
        template="sessions_app/_dashboard_rows.html",
        load=load,
        vary=(host.pk,),
        changes_at=lambda context: Session.next_shown_change(context["sessions"]),
    )
    return render(request, "sessions_app/dashboard.html", {"rows": rows, "host": host})


@host_required
def session_schedule_view(request, host):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    # The documents question's options and the services offered are read once for all the participant rows.
    participant_options = {
        "default_zone": host.organization.default_participant_time_zone,
        "documents_choices": documents_choices(organization_id=host.organization.id),
        "services": payment_services(organization=host.organization),
    }
    formset_options = {"prefix": "participants", "form_kwargs": participant_options}
    if request.method == "POST":
        form = SessionScheduleForm(request.POST, host=host)
        formset = ParticipantFormSet(request.POST, **formset_options)
        if form.is_valid() and formset.is_valid():
            filled = [f for f in formset.forms if f.has_changed() and f not in formset.deleted_forms]
            participants = [f.details() for f in filled]
            try:
                session = session_schedule(
                    actor=request.user,
                    host=host,
                    title=form.cleaned_data["title"],
                    start_at=form.cleaned_data["start_at"],
                    duration_minutes=form.cleaned_data["duration_minutes"],
                    participants=participants,
                    room=form.cleaned_data.get("room"),
                    repeat=form.cleaned_data["repeat_rule"],
                )
            except PaymentAskRefused as error:
                # Nothing was booked (one transaction): the refusal shows on the row of the person it is
                # about.
                form_error(filled[error.index], error, PAYMENT_FIELDS)
            except ApplicationError as error:
                form_error(form, error, {"start": "time"})
            else:
                count = len(participants)
                scheduled = "is scheduled"
                if session.series is not None:
                    occurrences = session.series.sessions.count()
                    scheduled = (
                        f"is scheduled {session.series.get_frequency_display().lower()}: "
                        f"{occurrences} sessions"
                    )
                note = booking_note(viewer=request.user, session=session)
                asked = [(details.name, details.payment) for details in participants]
                messages.success(
                    request,
                    f"“{session.title}” {scheduled}. Invites are on their way to {count} "
                    f"participant{'s' if count != 1 else ''}."
                    f"{payments_asked_message(asked, each=session.series is not None)}"
                    f"{f' {note}' if note else ''}",
                )
                return redirect("sessions:detail", pk=session.pk)
    else:
        # A calendar slot's date and time (on the viewer's clock) become the form's (on the host's).
        initial = SessionScheduleForm.initial_from_calendar(
            request.GET, viewer_zone=request.user.time_zone, host_zone=host.time_zone
        )
        form = SessionScheduleForm(host=host, initial=initial)
        formset = ParticipantFormSet(**formset_options)
    return render(
        request,
        "sessions_app/session_form.html",
        {
            "form": form,
            "formset": formset,
            "host": host,
            "availability_url": reverse("sessions:schedule_availability"),
            # The box asks for its answer as soon as the page loads (a refused booking's reasons are on
            # the time field already), so the page itself carries no answer.
            "availability_mode": "schedule",
            **payments_context(participant_options["services"]),
        },
    )


@login_required
def session_detail(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    return_to = request.get_full_path()

    def load() -> dict:
        # Read again inside the fragment, so that its rows are among those the fragment is kept for.
        shown = session_get_for(actor=request.user, pk=pk)
        participants = session_page_participants(session=shown)
        for participant in participants:
            participant.link = join_url(participant)
        shown.active_participants = participants
        prepare_session_rows([shown], next_url=return_to)
        refunds, invoices = session_refunds_and_invoices(session=shown)
        return {
            "session": shown,
            "participants": participants,
            "cancelled_participants": participants_cancelled_themselves(session=shown),
            "notices": shown.notifications.select_related("participant").order_by("-created_at", "-id"),
            "can_connect": request.user.pk == shown.host_id,
            "documents_status": documents_status_for_session(shown, participants),
            "refunds": refunds,
            "invoices": invoices,
            "waiting_room": waiting_room_context(
                session=shown, viewer=request.user, participants=participants, return_to=return_to
            ),
        }

    content = page_fragment(
        request,
        name="session",
        template="sessions_app/_session_detail_content.html",
        load=load,
        changes_at=lambda context: Session.next_shown_change([context["session"]]),
    )
    return render(request, "sessions_app/session_detail.html", {"session": session, "content": content})


@never_cache
@login_required
def session_manage_menu(request, pk: int):
    """The items of a dashboard row's Manage menu, fetched when the menu opens (htmx), so they are as the
    session is at that moment. Rendered for every row up front they were a third of the dashboard's work
    (docs/benchmarks.md, Pages); the session page lists the same actions as its Quick actions."""
    session = session_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    return render(
        request,
        "sessions_app/_session_manage_items.html",
        {"session": session, "actions": session_action_items(session)},
    )


@login_required
def session_connect_view(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk, connecting=True)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        session_connect(actor=request.user, session=session)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("sessions:detail", pk=session.pk)
    return redirect("sessions:video_room", pk=session.pk)


@login_required
def session_video_room(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk, connecting=True)
    if refused := refuse_method(request, "GET"):
        return refused
    if session.host_connected_at is None or not session.is_open:
        return redirect("sessions:detail", pk=session.pk)
    room_url = video_provider().room_url(session=session, display_name=request.user.full_name, is_host=True)
    waiting = waiting_room_context(
        session=session,
        viewer=request.user,
        participants=participants_waiting(session=session),
        return_to=request.get_full_path(),
    )
    return render(
        request,
        "sessions_app/video_room.html",
        {"session": session, "room_url": room_url, "is_host": True, "waiting_room": waiting},
    )
