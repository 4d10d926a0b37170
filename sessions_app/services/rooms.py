"""The organisation's rooms: schedulers and admins add, rename, deactivate and reactivate them.

Rooms belong to the organisation, not to a host, so their audit events name the actor as the one acted for.
A room is never deleted: past sessions keep pointing at it. A deactivated room is no longer offered on the
Schedule form; the sessions already booked in it keep it.
"""

from django.db import IntegrityError, transaction

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.models import Room

NAME_MAX_LENGTH = Room._meta.get_field("name").max_length


def _check_manages_rooms(*, actor: User, room: Room | None = None) -> None:
    if not actor.is_scheduler or actor.organization is None:
        raise PermissionDeniedError("Only schedulers and admins manage rooms.")
    if room is not None and room.organization_id != actor.organization.id:
        raise PermissionDeniedError("That room belongs to another organisation.")


def _clean_name(*, name: str, organization_id: int, exclude_pk: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailedError("Give the room a name.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailedError(f"Keep the name under {NAME_MAX_LENGTH} characters.", field="name")
    taken = Room.objects.filter(organization_id=organization_id, name__iexact=name).exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationFailedError(f"There is already a room called “{name}”.", field="name")
    return name


def _save(room: Room, *, name: str, **save_options) -> None:
    # Two schedulers naming a room at the same moment both pass the check above; the unique constraint
    # decides, and the loser gets the same message.
    try:
        with transaction.atomic():
            room.save(**save_options)
    except IntegrityError as error:
        raise ValidationFailedError(f"There is already a room called “{name}”.", field="name") from error


@transaction.atomic
def room_add(*, actor: User, name: str) -> Room:
    _check_manages_rooms(actor=actor)
    organization = actor.organization
    name = _clean_name(name=name, organization_id=organization.id)
    room = Room(organization=organization, name=name)
    _save(room, name=name)
    audit_record(
        actor=actor,
        acting_for=actor,
        organization_id=room.organization_id,
        action=AuditAction.ROOM_ADD,
        obj=room,
        name=name,
    )
    return room


@transaction.atomic
def room_update(*, actor: User, room: Room, name: str | None = None, is_active: bool | None = None) -> Room:
    """Rename a room and/or (de)activate it; a change to nothing records nothing."""
    _check_manages_rooms(actor=actor, room=room)
    room = Room.objects.select_for_update().get(pk=room.pk)
    changes: dict = {}
    if name is not None:
        name = _clean_name(name=name, organization_id=room.organization_id, exclude_pk=room.pk)
        if name != room.name:
            changes["name"] = [room.name, name]
            room.name = name
    if is_active is not None and is_active != room.is_active:
        changes["is_active"] = [room.is_active, is_active]
        room.is_active = is_active
    if changes:
        _save(room, name=room.name, update_fields=["name", "is_active"])
        audit_record(
            actor=actor,
            acting_for=actor,
            organization_id=room.organization_id,
            action=AuditAction.ROOM_UPDATE,
            obj=room,
            **changes,
        )
    return room
