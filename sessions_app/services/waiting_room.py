"""The waiting room: a participant whose documents are done waits there until the host lets them in."""

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.models import Participant, Session
from sessions_app.services.common import check_open


def participant_wait(*, participant: Participant) -> Participant:
    """The participant reached the waiting room. Only the first arrival is recorded and audited: the page
    comes back on every reload, and a dropped connection does not put them at the back of the queue."""
    if participant.waiting_since is not None:
        return participant
    with transaction.atomic():
        # A conditional update, so two tabs opening at once still record one arrival and one audit event.
        updated = Participant.objects.filter(pk=participant.pk, waiting_since__isnull=True).update(
            waiting_since=timezone.now()
        )
        if updated:
            participant.refresh_from_db(fields=["waiting_since"])
            audit_record(
                actor=None, session=participant.session, action=AuditAction.PARTICIPANT_WAIT, obj=participant
            )
    return participant


def _lock_for_admitting(*, actor: User, session: Session) -> Session:
    # Letting someone into the video room is the host's own act in that room; a scheduler manages the
    # host's sessions but never joins them (DESIGN.md), so acting for the host is not enough here.
    if session.host_id != actor.pk:
        raise PermissionDeniedError(
            "Only the session's host lets participants in, from the session they are connected to."
        )
    session = Session.objects.select_for_update(of=("self",)).select_related("host").get(pk=session.pk)
    check_open(session)
    if session.host_connected_at is None:
        raise ValidationFailedError("Connect first: you let participants in once you are in the session.")
    return session


@transaction.atomic
def participant_admit(*, actor: User, participant: Participant) -> Participant:
    """The host lets one waiting participant into the room. Letting in someone already in is a no-op, so a
    double click (or two of the host's tabs) records one event."""
    session = _lock_for_admitting(actor=actor, session=participant.session)
    participant = Participant.objects.select_for_update().get(pk=participant.pk, session=session)
    participant.session = session
    if participant.removed_at is not None:
        raise ValidationFailedError(f"{participant.name} was removed from this session.")
    if participant.admitted_at is not None:
        return participant
    if participant.waiting_since is None:
        raise ValidationFailedError(f"{participant.name} is not in the waiting room yet.")
    participant.admitted_at = timezone.now()
    participant.save(update_fields=["admitted_at"])
    audit_record(actor=actor, session=session, action=AuditAction.PARTICIPANT_ADMIT, obj=participant)
    return participant


@transaction.atomic
def participants_admit_all(*, actor: User, session: Session) -> list[Participant]:
    """The host lets everyone waiting in at once: one update and one audit event naming them, however many
    are waiting. Returns those let in (none when nobody was waiting)."""
    session = _lock_for_admitting(actor=actor, session=session)
    waiting = list(
        Participant.objects.select_for_update()
        .active()
        .filter(session=session, waiting_since__isnull=False, admitted_at__isnull=True)
        .order_by("waiting_since", "id")
    )
    if not waiting:
        return []
    moment = timezone.now()
    Participant.objects.filter(pk__in=[p.pk for p in waiting]).update(admitted_at=moment)
    for participant in waiting:
        participant.admitted_at, participant.session = moment, session
    audit_record(
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.PARTICIPANT_ADMIT,
        participants=[p.pk for p in waiting],
    )
    return waiting
