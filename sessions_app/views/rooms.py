"""The organisation's rooms: listed for everyone, managed by schedulers and admins.

Every view loads its objects through the scoped selectors first (a 404 outside the actor's scope), then
checks the role and the HTTP method, then calls one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from config.errors import ApplicationError
from sessions_app.forms.planning import RoomForm
from sessions_app.selectors import rooms_of_organization
from sessions_app.services import room_add, room_update
from sessions_app.views.common import form_error, refuse_method


def _require_organization(request) -> None:
    if request.user.organization is None:
        raise Http404("This account belongs to no organisation.")


def _render_rooms(request, *, add_form=None, bound_room_form=None):
    rooms = list(rooms_of_organization(actor=request.user))
    for room in rooms:
        if bound_room_form is not None and bound_room_form.prefix == f"room-{room.pk}":
            room.form = bound_room_form
        else:
            room.form = RoomForm(prefix=f"room-{room.pk}", initial={"name": room.name})
    return render(
        request,
        "sessions_app/planning/rooms.html",
        {
            "active_rooms": [r for r in rooms if r.is_active],
            "inactive_rooms": [r for r in rooms if not r.is_active],
            "can_manage": request.user.is_scheduler,
            "add_form": add_form or RoomForm(prefix="new-room"),
        },
    )


def _require_room_manager(request) -> None:
    if not request.user.is_scheduler:
        raise PermissionDenied("Only schedulers and admins manage rooms.")


@login_required
def rooms(request):
    _require_organization(request)
    if refused := refuse_method(request, "GET"):
        return refused
    return _render_rooms(request)


@login_required
def room_add_view(request):
    _require_organization(request)
    _require_room_manager(request)
    if refused := refuse_method(request, "POST"):
        return refused
    form = RoomForm(request.POST, prefix="new-room")
    if form.is_valid():
        try:
            room = room_add(actor=request.user, name=form.cleaned_data["name"])
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Room “{room.name}” added.")
            return redirect("sessions:rooms")
    return _render_rooms(request, add_form=form)


@login_required
def room_rename_view(request, pk: int):
    room = get_object_or_404(rooms_of_organization(actor=request.user), pk=pk)
    _require_room_manager(request)
    if refused := refuse_method(request, "POST"):
        return refused
    form = RoomForm(request.POST, prefix=f"room-{room.pk}")
    if form.is_valid():
        old_name = room.name
        try:
            room = room_update(actor=request.user, room=room, name=form.cleaned_data["name"])
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Room “{old_name}” is now “{room.name}”.")
            return redirect("sessions:rooms")
    return _render_rooms(request, bound_room_form=form)


def _room_set_active(request, pk: int, *, is_active: bool):
    room = get_object_or_404(rooms_of_organization(actor=request.user), pk=pk)
    _require_room_manager(request)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        room = room_update(actor=request.user, room=room, is_active=is_active)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if is_active:
            messages.success(request, f"Room “{room.name}” can be booked again.")
        else:
            messages.success(
                request,
                f"Room “{room.name}” is deactivated: it is no longer offered when scheduling. "
                "Sessions already booked in it keep it.",
            )
    return redirect("sessions:rooms")


@login_required
def room_deactivate_view(request, pk: int):
    return _room_set_active(request, pk, is_active=False)


@login_required
def room_activate_view(request, pk: int):
    return _room_set_active(request, pk, is_active=True)
