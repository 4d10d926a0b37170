"""The session actions of the Manage menu and the Quick actions: one page (a form) per action, each calling
exactly one service, for the host and for a scheduler acting for them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView

from accounts.models import User
from billing.forms import decimal_of, extension_invoice_of, payment_services
from billing.services import PaymentAsk, invoice_for_extension, payments_asked_again
from config.errors import ApplicationError
from documents.selectors import required_documents_missing_in
from sessions_app.availability import availability_for, colleagues_with_availability
from sessions_app.forms.actions import (
    CancelForm,
    ChangeEndForm,
    NoShowForm,
    ReassignForm,
    RemoveForm,
    RescheduleForm,
    ScheduleNextForm,
    TimeWindowForm,
)
from sessions_app.models import Session
from sessions_app.selectors import session_get_for
from sessions_app.services import (
    FOLLOWING,
    KEEP_ROOM,
    session_cancel,
    session_change_end,
    session_mark_no_show,
    session_reassign,
    session_remove,
    session_reschedule,
    session_schedule_next,
)
from sessions_app.timefmt import format_when
from sessions_app.views.common import form_error, payments_asked_message


@method_decorator(login_required, name="dispatch")
class SessionScopedView:
    """Loads `self.session` through the actor's scope before anything else.

    The scope is checked before the HTTP verb (rule 4): a session outside it is a 404 for every method, so
    a 405 never tells a stranger that the session exists.
    """

    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        self.session = session_get_for(actor=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def when(self, moment) -> str:
        return format_when(moment, self.request.user.time_zone)


class SessionActionView(SessionScopedView, FormView):
    """GET shows the form; a valid POST calls `perform` (one service). A refusal comes back as a form error,
    keeping what was typed; success redirects with a message saying what happened."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "session": self.session}

    def get_context_data(self, **kwargs):
        return super().get_context_data(session=self.session, host=self.session.host, **kwargs)

    def form_valid(self, form):
        try:
            result = self.perform(form)
        except ApplicationError as error:
            form_error(form, error, form.service_fields)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message(form, result))
        return redirect(self.redirect_to(result))

    def perform(self, form) -> Session:
        raise NotImplementedError

    def success_message(self, form, result: Session) -> str:
        raise NotImplementedError

    def redirect_to(self, result: Session) -> str:
        return reverse("sessions:detail", kwargs={"pk": result.pk})


class TimeWindowActionView(SessionActionView):
    """An action that proposes a new time, with the live availability check beside the form."""

    availability_mode = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["availability_mode"] = self.availability_mode
        if form.is_bound:
            # The form shows its own errors beside the inputs; the box only says whether the time is free.
            check = availability_check(self.session, form, self.availability_mode, viewer=self.request.user)
            context["check"] = {**check, "errors": []}
        else:
            context["check"] = {}
        return context


def availability_check(session: Session, form: TimeWindowForm, mode: str, *, viewer: User) -> dict:
    """The context of the availability fragment for the time the form proposes, as `viewer` may read it."""
    form.is_valid()
    if form.window is None:
        return {"errors": form.time_errors()}
    start_at, end_at = form.window
    # The session itself is not in the way of its own new time; the next session is a new one, so the
    # current one does count there.
    exclude = [] if mode == "next" else [session.pk]
    availability = availability_for(
        viewer=viewer,
        host=session.host,
        start_at=start_at,
        end_at=end_at,
        room=form.proposed_room,
        exclude=exclude,
    )
    return {
        "availability": availability,
        "start_at": start_at,
        "end_at": end_at,
        "errors": form.time_errors(),
    }


class AvailabilityView(SessionScopedView, TemplateView):
    """The availability fragment htmx swaps in as the date and time inputs change."""

    http_method_names = ["get"]
    template_name = "sessions_app/actions/_availability.html"
    forms = {"reschedule": RescheduleForm, "change_end": ChangeEndForm, "next": ScheduleNextForm}

    def get_context_data(self, **kwargs):
        mode = self.request.GET.get("mode", "reschedule")
        form = self.forms.get(mode, RescheduleForm)(self.request.GET, session=self.session)
        return super().get_context_data(
            check=availability_check(self.session, form, mode, viewer=self.request.user), mode=mode, **kwargs
        )


def _told(notify: bool) -> str:
    return "Participants are being notified." if notify else "Participants were not notified."


class RescheduleView(TimeWindowActionView):
    form_class = RescheduleForm
    template_name = "sessions_app/actions/reschedule.html"
    availability_mode = "reschedule"

    def perform(self, form):
        data = form.cleaned_data
        return session_reschedule(
            actor=self.request.user,
            session=self.session,
            start_at=data["start_at"],
            reason=data["reason"],
            notify=data["notify"],
            scope=form.scope,
            room=form.room_change,
        )

    def success_message(self, form, result):
        when = self.when(result.start_at)
        room = f"room {result.room.name}" if result.room else "no room"
        if result.start_at == self.session.start_at:
            return f"“{result.title}” on {when} now has {room}. The room is not in the participants' notices."
        if form.room_change is not KEEP_ROOM:
            when = f"{when}, {room}"
        moved = (
            f"“{result.title}” and the following sessions of its series are moved: this one is now on {when}."
            if form.scope == FOLLOWING
            else f"“{result.title}” is moved to {when}."
        )
        return f"{moved} {_told(form.cleaned_data['notify'])}"


class ChangeEndView(TimeWindowActionView):
    form_class = ChangeEndForm
    template_name = "sessions_app/actions/change_end.html"
    availability_mode = "change_end"

    def get_form_kwargs(self):
        # The extension can be invoiced once the organisation's Stripe account takes payments.
        invoicing = payment_services(organization=self.session.organization) is not None
        participants = [p for p in self.session.participants.active().order_by("id") if p.email]
        return {**super().get_form_kwargs(), "invoice_participants": participants if invoicing else None}

    def perform(self, form):
        invoice = extension_invoice_of(form)
        self.invoice = None
        # One transaction: a refused invoice leaves the end (and its notices) unchanged, so the form comes
        # back as typed and saving it again does not move the end twice.
        with transaction.atomic():
            session = session_change_end(
                actor=self.request.user,
                session=self.session,
                end_at=form.cleaned_data["end_at"],
                notify=form.cleaned_data["notify"],
            )
            if invoice is not None:
                self.invoice = invoice_for_extension(
                    actor=self.request.user, session=session, **invoice.arguments()
                )
        return session

    def success_message(self, form, result):
        length = f"{result.duration_minutes} minutes"
        text = (
            f"“{result.title}” now ends at {self.when(result.end_at)} ({length}). "
            f"{_told(form.cleaned_data['notify'])}"
        )
        if self.invoice is not None:
            amount = f"{decimal_of(self.invoice.amount)} {self.invoice.currency.upper()}"
            text += f" Stripe emails {self.invoice.participant.name} an invoice of {amount}."
        return text


class ScheduleNextView(TimeWindowActionView):
    form_class = ScheduleNextForm
    template_name = "sessions_app/actions/schedule_next.html"
    availability_mode = "next"

    @cached_property
    def participants(self) -> list:
        return list(self.session.participants.active().order_by("id"))

    @cached_property
    def asked(self) -> dict[int, PaymentAsk]:
        """What each participant was asked to pay for this session, offered again while the organisation
        takes payments (as the Add participant page offers the fields only then)."""
        if payment_services(organization=self.session.organization) is None:
            return {}
        return payments_asked_again(self.participants)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "asked": bool(self.asked)}

    def get_context_data(self, **kwargs):
        rows = [(participant, self.asked.get(participant.pk)) for participant in self.participants]
        return super().get_context_data(participants=rows, **kwargs)

    def perform(self, form):
        return session_schedule_next(
            actor=self.request.user,
            session=self.session,
            start_at=form.cleaned_data["start_at"],
            title=form.cleaned_data["title"],
            same_payments=form.cleaned_data.get("same_payments", False),
        )

    def success_message(self, form, result):
        count = result.participants.active().count()
        asked = [(p.name, self.asked.get(p.pk)) for p in self.participants]
        return (
            f"“{result.title}” is scheduled for {self.when(result.start_at)}. Invites are on their way to "
            f"{count} participant{'s' if count != 1 else ''}."
            f"{payments_asked_message(asked) if form.cleaned_data.get('same_payments') else ''}"
        )


class CancelView(SessionActionView):
    form_class = CancelForm
    template_name = "sessions_app/actions/cancel.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            offered=self.session.is_open and self.session.cancel_offered(),
            missing_documents=required_documents_missing_in(self.session),
            **kwargs,
        )

    def perform(self, form):
        return session_cancel(
            actor=self.request.user,
            session=self.session,
            reason=form.cleaned_data["reason"],
            scope=form.scope,
        )

    def success_message(self, form, result):
        which = (
            f"“{result.title}” and the following sessions of its series are"
            if form.scope == FOLLOWING
            else f"“{result.title}” on {self.when(result.start_at)} is"
        )
        return f"{which} cancelled. Participants are being notified."

    def redirect_to(self, result):
        return reverse("sessions:dashboard")


class RemoveView(SessionActionView):
    form_class = RemoveForm
    template_name = "sessions_app/actions/remove.html"

    def get_context_data(self, **kwargs):
        offered = not self.session.is_closed and not self.session.cancel_offered()
        return super().get_context_data(
            offered=offered, missing_documents=required_documents_missing_in(self.session), **kwargs
        )

    def perform(self, form):
        return session_remove(actor=self.request.user, session=self.session)

    def success_message(self, form, result):
        return f"“{result.title}” on {self.when(result.start_at)} was removed. No notice was sent."

    def redirect_to(self, result):
        return reverse("sessions:dashboard")


class NoShowView(SessionActionView):
    form_class = NoShowForm
    template_name = "sessions_app/actions/no_show.html"

    def get_context_data(self, **kwargs):
        started = timezone.now() >= self.session.start_at
        return super().get_context_data(started=started, **kwargs)

    def perform(self, form):
        return session_mark_no_show(
            actor=self.request.user,
            session=self.session,
            participant_ids=form.cleaned_data["participants"],
            whole_session=form.cleaned_data["whole_session"],
        )

    def success_message(self, form, result):
        if result.no_show:
            return f"“{result.title}” is recorded as a no-show: nobody came."
        names = ", ".join(form.names[pk] for pk in form.cleaned_data["participants"])
        return f"Recorded as not coming to “{result.title}”: {names}."


class ReassignView(SessionActionView):
    form_class = ReassignForm
    template_name = "sessions_app/actions/reassign.html"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "colleagues": colleagues_with_availability(viewer=self.request.user, session=self.session),
            "viewer_zone": self.request.user.time_zone,
        }

    def perform(self, form):
        return session_reassign(
            actor=self.request.user, session=self.session, new_host=form.cleaned_data["new_host"]
        )

    def success_message(self, form, result):
        return (
            f"“{result.title}” on {self.when(result.start_at)} is now with {result.host.full_name}, "
            "who has been emailed."
        )

    def redirect_to(self, result):
        # The session has left this host: a host who gave it away can no longer see its page.
        return reverse("sessions:dashboard")
