"""The audit log's one writer. Every service records its change here with an AuditAction, never a free
string, so the log can be read (and filtered) by a fixed vocabulary."""

from django.db import models

from accounts.models import AuditEvent, User


class AuditAction(models.TextChoices):
    SESSION_SCHEDULE = "session.schedule", "Session scheduled"
    SESSION_SCHEDULE_NEXT = "session.schedule_next", "Next session scheduled"
    SESSION_RESCHEDULE = "session.reschedule", "Session rescheduled"
    SESSION_CANCEL = "session.cancel", "Session cancelled"
    SESSION_REMOVE = "session.remove", "Session removed"
    SESSION_CHANGE_END = "session.change_end", "Session end time changed"
    SESSION_NO_SHOW = "session.no_show", "No-show recorded"
    SESSION_REASSIGN = "session.reassign", "Session reassigned"
    SESSION_CONNECT = "session.connect", "Host connected"
    SESSION_COMPLETE = "session.complete", "Session completed"
    PARTICIPANT_ADD = "participant.add", "Participant added"
    PARTICIPANT_UPDATE = "participant.update", "Participant changed"
    PARTICIPANT_REMIND = "participant.remind", "Participant reminded"
    PARTICIPANT_REMOVE = "participant.remove", "Participant removed"
    PARTICIPANT_JOIN = "participant.join", "Participant joined"
    PARTICIPANT_WAIT = "participant.wait", "Participant waiting for the host"
    PARTICIPANT_ADMIT = "participant.admit", "Participant let in by the host"
    # Answers a participant gave themselves (sessions_app.services.participant_answers): no account is
    # behind them, so the actor is None and `participant` in the details names who answered.
    PARTICIPANT_CONFIRM = "participant.confirm", "Participant confirmed"
    PARTICIPANT_CANCEL = "participant.cancel", "Participant cancelled"
    PARTICIPANT_ASK_TIME = "participant.ask_time", "Participant asked for another time"
    PARTICIPANT_MESSAGE = "participant.message", "Participant sent a message"
    PARTICIPANT_REQUEST_DONE = "participant.request_done", "Request for another time dealt with"
    CONTACT_CREATE = "contact.create", "Contact created"
    CONTACT_UPDATE = "contact.update", "Contact changed"
    CONTACT_SMS_OPT_OUT = "contact.sms_opt_out", "SMS opt-out changed"
    CONTACT_DELETE = "contact.delete", "Contact deleted"
    CONTACTS_IMPORT = "contact.import", "Contacts imported"
    CONTACT_EXPORT_DATA = "contact.export_data", "Contact's data exported"
    CONTACT_ERASE = "contact.erase", "Contact's personal data erased"
    PARTICIPANTS_FOLLOW_CONTACT = "participant.follow_contact", "Participants follow their changed contact"
    PARTICIPANTS_ERASE = "participant.erase", "Participants' personal data erased"
    ROOM_ADD = "room.add", "Room added"
    ROOM_UPDATE = "room.update", "Room changed"
    WORKING_HOURS_ADD = "working_hours.add", "Working hours added"
    WORKING_HOURS_REMOVE = "working_hours.remove", "Working hours removed"
    BLOCKED_SLOT_ADD = "blocked_slot.add", "Time blocked"
    BLOCKED_SLOT_REMOVE = "blocked_slot.remove", "Blocked time removed"
    REMINDERS_UPDATE = "reminders.update", "Reminder times changed"
    NOTICE_PROVIDER_STATUS = "notice.provider_status", "Provider reported on a notice"
    DOCUMENT_CREATE = "document.create", "Document created"
    DOCUMENT_UPDATE = "document.update", "Document changed"
    DOCUMENT_DELETE = "document.delete", "Document deleted"
    DOCUMENT_DEACTIVATE = "document.deactivate", "Document deactivated instead of deleted"
    DOCUMENT_FIELD_ADD = "document_field.add", "Document field added"
    DOCUMENT_FIELD_UPDATE = "document_field.update", "Document field changed"
    DOCUMENT_FIELD_MOVE = "document_field.move", "Document field moved"
    DOCUMENT_FIELD_REMOVE = "document_field.remove", "Document field removed"
    PACKET_CREATE = "packet.create", "Packet created"
    PACKET_UPDATE = "packet.update", "Packet changed"
    PACKET_DELETE = "packet.delete", "Packet deleted"
    SUBMISSION_SAVE_DRAFT = "submission.save_draft", "Document draft saved by the participant"
    SUBMISSION_SUBMIT = "submission.submit", "Document submitted by the participant"
    STRIPE_CONNECT = "billing.stripe_connect", "Stripe account connected"
    STRIPE_ACCOUNT_UPDATE = "billing.stripe_account_update", "Stripe account status changed"
    BILLING_SETTINGS_UPDATE = "billing.settings_update", "Late-cancellation fee changed"
    SERVICE_CREATE = "service.create", "Service created"
    SERVICE_UPDATE = "service.update", "Service changed"
    SERVICE_DEACTIVATE = "service.deactivate", "Service deactivated"
    PAYMENT_REQUIRE = "payment.require", "Payment asked of a participant"
    PAYMENT_WAIVE = "payment.waive", "Payment no longer asked"
    PAYMENT_CHECKOUT_START = "payment.checkout_start", "Participant opened the payment page"
    PAYMENT_PAID = "payment.paid", "Payment received"
    PAYMENT_MISMATCH = "payment.mismatch", "Stripe reported a payment that does not match"
    PAYMENTS_REFUND_FOR_CANCEL = "payment.refund_for_cancel", "Refunds started for a cancelled session"
    REFUND_RESULT = "refund.result", "Stripe answered on a refund"
    INVOICE_CREATE = "invoice.create", "Invoice created"
    INVOICE_STATUS = "invoice.status", "Invoice status changed"
    ORGANIZATION_CREATE = "organization.create", "Organisation created"
    ORGANIZATION_SETTINGS_UPDATE = "organization.settings_update", "Organisation settings changed"
    INVITATION_CREATE = "invitation.create", "Colleague invited"
    INVITATION_RESEND = "invitation.resend", "Invitation sent again"
    INVITATION_REVOKE = "invitation.revoke", "Invitation withdrawn"
    INVITATION_ACCEPT = "invitation.accept", "Invitation accepted"
    MEMBER_ROLE_CHANGE = "member.role_change", "Role changed"
    MEMBER_HOSTS_SET = "member.hosts_set", "Scheduler's hosts changed"
    MEMBER_DEACTIVATE = "member.deactivate", "Member deactivated"
    MEMBER_REACTIVATE = "member.reactivate", "Member reactivated"
    PROFILE_UPDATE = "profile.update", "Profile changed"
    PASSWORD_CHANGE = "profile.password_change", "Password changed"
    EMAIL_CHANGE_REQUEST = "profile.email_change_request", "New email address to confirm"
    EMAIL_CHANGE_CONFIRM = "profile.email_change_confirm", "Email address changed"
    CALENDAR_FEED_CREATE = "calendar.feed_create", "Calendar subscription address made"
    CALENDAR_FEED_REVOKE = "calendar.feed_revoke", "Calendar subscription turned off"
    CALENDAR_SOURCE_SET = "calendar.source_set", "Own calendar connected for busy times"
    CALENDAR_SOURCE_REMOVE = "calendar.source_remove", "Own calendar removed"
    CONTACT_VIEW = "contact.view", "Contact viewed"
    CONTACTS_EXPORT = "contact.export", "Address book exported"
    AUDIT_LOG_EXPORT = "audit.export", "Audit log exported"


def audit_event(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model,
    session=None,
    acting_for: User | None = None,
    organization_id: int | None = None,
    **details,
) -> AuditEvent:
    """One change's event, not yet saved: audit_record saves one, audit_records many in one statement. About
    a session (or something on it), pass `session`: the event then names the session's organisation and,
    unless told otherwise, its host as the one acted for (DESIGN.md rule 4)."""
    if session is not None:
        acting_for = acting_for or session.host
        organization_id = session.organization_id
    return AuditEvent(
        organization_id=organization_id,
        actor=actor,
        acting_for=acting_for,
        action=AuditAction(action).value,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details,
    )


def audit_record(**event) -> AuditEvent:
    """Record one change: the event audit_event describes with these arguments, saved."""
    record = audit_event(**event)
    record.save(force_insert=True)
    return record


def audit_records(events: list[AuditEvent]) -> list[AuditEvent]:
    """Record many changes at once (audit_event's), one event each, in one statement (a few on SQLite, which
    splits a long insert): a service that writes rows in bulk audits them without a query per row."""
    return AuditEvent.objects.bulk_create(events)


ERASED = "[erased]"
# Where the services record a person's details in an event about them (participant.add's name, the `before`
# of participant.update and contact.update).
PERSONAL_DETAIL_KEYS = frozenset({"name", "email", "phone"})


def _scrubbed(value, erased: set[str], personal: bool = False):
    if isinstance(value, str):
        return ERASED if value and (personal or value.strip().casefold() in erased) else value
    if isinstance(value, list):
        return [_scrubbed(item, erased) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, erased, key in PERSONAL_DETAIL_KEYS) for key, item in value.items()}
    return value


def audit_details_erase(*, organization_id: int, objects: list[models.Model], values: set[str]) -> int:
    """Erase a person from the earlier events about `objects` (their contact, their participations): the
    details recorded under a name, email or phone key, whatever they were then, and any other value equal to
    one of `values` (their current names and addresses). What was done, by whom and when stays: the log
    stays whole, the person is no longer in it. Two queries however many events there are; returns how many
    events changed."""
    erased = {value.strip().casefold() for value in values if value and value.strip()}
    if not objects:
        return 0
    ids_by_type: dict[str, list[str]] = {}
    for obj in objects:
        ids_by_type.setdefault(obj._meta.label_lower, []).append(str(obj.pk))
    about = models.Q()
    for object_type, ids in ids_by_type.items():
        about |= models.Q(object_type=object_type, object_id__in=ids)
    changed = []
    for event in AuditEvent.objects.filter(about, organization_id=organization_id).only("details"):
        details = _scrubbed(event.details, erased)
        if details != event.details:
            event.details = details
            changed.append(event)
    AuditEvent.objects.bulk_update(changed, ["details"], batch_size=500)
    return len(changed)
