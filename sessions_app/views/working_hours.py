"""The Working hours page: a host's weekly working hours and blocked times.

Every view loads its objects through the scoped selectors first (a 404 outside the actor's scope), then
checks the role and the HTTP method, then calls one service."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from config.errors import ApplicationError
from sessions_app.forms.planning import BlockedSlotForm, WorkingHoursForm
from sessions_app.models import WorkingHours
from sessions_app.selectors import blocked_slots_of, working_hours_of
from sessions_app.services import (
    blocked_slot_add,
    blocked_slot_remove,
    working_hours_add,
    working_hours_remove,
)
from sessions_app.views.common import form_error, host_required, refuse_method


def _render_working_hours(request, host, *, hours_form=None, block_form=None):
    hours = list(working_hours_of(actor=request.user, host=host).order_by("weekday", "start_time"))
    weekdays = [
        (label, [h for h in hours if h.weekday == value]) for value, label in WorkingHours.Weekday.choices
    ]
    blocks = list(blocked_slots_of(actor=request.user, host=host).filter(end_at__gt=timezone.now()))
    return render(
        request,
        "sessions_app/planning/working_hours.html",
        {
            "host": host,
            "weekdays": weekdays,
            "has_hours": bool(hours),
            "blocks": blocks,
            "hours_form": hours_form or WorkingHoursForm(host=host),
            "block_form": block_form or BlockedSlotForm(host=host),
        },
    )


@host_required
def working_hours(request, host):
    if refused := refuse_method(request, "GET"):
        return refused
    return _render_working_hours(request, host)


@host_required
def working_hours_add_view(request, host):
    if refused := refuse_method(request, "POST"):
        return refused
    form = WorkingHoursForm(request.POST, host=host)
    if form.is_valid():
        try:
            hours = working_hours_add(
                actor=request.user,
                host=host,
                weekday=form.cleaned_data["weekday"],
                start_time=form.cleaned_data["start_time"],
                end_time=form.cleaned_data["end_time"],
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Working hours added: {hours}.")
            return redirect("sessions:working_hours")
    return _render_working_hours(request, host, hours_form=form)


@host_required
def working_hours_remove_view(request, host, pk: int):
    hours = get_object_or_404(working_hours_of(actor=request.user, host=host).select_related("host"), pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        working_hours_remove(actor=request.user, hours=hours)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Working hours removed: {hours}.")
    return redirect("sessions:working_hours")


@host_required
def blocked_slot_add_view(request, host):
    if refused := refuse_method(request, "POST"):
        return refused
    form = BlockedSlotForm(request.POST, host=host)
    if form.is_valid():
        try:
            blocked_slot_add(
                actor=request.user,
                host=host,
                start_at=form.cleaned_data["start_at"],
                end_at=form.cleaned_data["end_at"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            form_error(form, error, aliases={"start": "start_time", "end": "end_time"})
        else:
            messages.success(request, "The time is blocked.")
            return redirect("sessions:working_hours")
    return _render_working_hours(request, host, block_form=form)


@host_required
def blocked_slot_delete_view(request, host, pk: int):
    slot = get_object_or_404(blocked_slots_of(actor=request.user, host=host).select_related("host"), pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        blocked_slot_remove(actor=request.user, slot=slot)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The blocked time is deleted.")
    return redirect("sessions:working_hours")
