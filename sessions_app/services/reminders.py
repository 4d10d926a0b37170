"""Reminders are notices planned ahead (DESIGN.md rule 2): one row per participant and lead time, with its
send_at, withdrawn and planned again whenever the session moves."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from notifications.models import HostNoticeSettings, Notification, default_reminder_leads
from notifications.services import notice_build, notices_cancel_pending, notices_put
from sessions_app.models import Participant, Session
from sessions_app.services.common import check_acts_for

MIN_REMINDER_LEAD = timedelta(minutes=10)
MAX_REMINDER_LEAD = timedelta(days=14)
MAX_REMINDERS = 5
REMINDER_LEAD_MESSAGE = "Each reminder must be between 10 minutes and 14 days before the start."


def check_reminder_lead(minutes: int) -> None:
    # Compared as whole minutes: a lead of billions of days cannot even become a timedelta.
    if not MIN_REMINDER_LEAD // timedelta(minutes=1) <= minutes <= MAX_REMINDER_LEAD // timedelta(minutes=1):
        raise ValidationFailedError(REMINDER_LEAD_MESSAGE, field="reminders")


def reminder_leads(host: User) -> list[timedelta]:
    """The host's reminder lead times, longest first (24 hours and 1 hour unless they chose others)."""
    settings_row = HostNoticeSettings.objects.filter(host=host).first()
    minutes = settings_row.reminder_lead_minutes if settings_row else default_reminder_leads()
    return [timedelta(minutes=m) for m in sorted(set(minutes), reverse=True)]


def reminders_plan(
    *, sessions: list[Session], participants: list[Participant] | None = None, replan: bool = True
) -> list[Notification]:
    """(Re)plan the reminders of sessions of one host: their pending reminders are withdrawn (`replan`;
    without it the participants are new in this transaction and have no reminders yet) and
    one row per lead time and participant is written with its send_at, in a fixed number of queries however
    many sessions and participants there are. A reminder whose time has already passed is not planned (a
    session booked 30 minutes ahead gets no 24-hour reminder).

    `participants` (already loaded, each with its session) limits the plan to them; by default every active
    participant of the sessions is planned for."""
    if not sessions:
        return []
    if replan:
        notices_cancel_pending(
            sessions=sessions, participants=participants, kinds=[Notification.Kind.REMINDER]
        )
    if participants is None:
        by_pk = {session.pk: session for session in sessions}
        participants = list(Participant.objects.active().filter(session__in=sessions).order_by("id"))
        for participant in participants:
            participant.session = by_pk[participant.session_id]
    now = timezone.now()
    leads = reminder_leads(sessions[0].host)
    return notices_put(
        [
            notice_build(
                participant=participant,
                kind=Notification.Kind.REMINDER,
                send_at=participant.session.start_at - lead,
                key=f"lead{int(lead.total_seconds() // 60)}",
            )
            for participant in participants
            for lead in leads
            if participant.session.start_at - lead > now
        ],
        new=not replan,
    )


@transaction.atomic
def reminder_settings_update(
    *, actor: User, host: User, reminder_lead_minutes: list[int]
) -> HostNoticeSettings:
    """Set a host's reminder lead times and re-plan the reminders of their upcoming sessions."""
    check_acts_for(actor=actor, host=host)
    leads = sorted({int(m) for m in reminder_lead_minutes}, reverse=True)
    if len(leads) > MAX_REMINDERS:
        raise ValidationFailedError(f"Choose at most {MAX_REMINDERS} reminders.")
    for minutes in leads:
        check_reminder_lead(minutes)
    row, _ = HostNoticeSettings.objects.update_or_create(host=host, defaults={"reminder_lead_minutes": leads})
    upcoming = list(
        Session.objects.open().filter(host=host, start_at__gt=timezone.now()).select_related("host")
    )
    reminders_plan(sessions=upcoming)
    audit_record(
        actor=actor,
        acting_for=host,
        organization_id=host.organization.id,
        action=AuditAction.REMINDERS_UPDATE,
        obj=row,
        reminder_lead_minutes=leads,
    )
    return row
