"""Every write of a contact goes through here (DESIGN.md rule 1), audited."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Organization, User
from contacts.models import Contact


@dataclass
class ContactDetails:
    name: str
    email: str = ""
    phone: str = ""
    preferred_method: str = ""
    time_zone: str = "UTC"
    contact_id: int | None = None


def contacts_match_or_create(
    *, actor: User | None, organization: Organization, people: list[ContactDetails]
) -> list[Contact]:
    """The organisation's contact for each person, in order: the one they were picked as (an id of this
    organisation only, so a forged id links nothing), else matched by email, then phone; created when new.
    A fixed number of queries for the matching, one insert and audit event per new person.

    Called from inside the services that add participants, which own the transaction."""
    contacts = Contact.objects.filter(organization=organization)
    picked = {c.pk: c for c in contacts.filter(pk__in=[p.contact_id for p in people if p.contact_id])}
    emails = {p.email.lower() for p in people if p.email}
    phones = {p.phone for p in people if p.phone}
    by_email, by_phone = {}, {}
    if emails or phones:
        candidates = contacts.annotate(email_lower=Lower("email")).filter(
            Q(email_lower__in=emails) | Q(phone__in=phones)
        )
        for contact in candidates.order_by("pk"):
            by_email.setdefault(contact.email_lower, contact)
            if contact.phone:
                by_phone.setdefault(str(contact.phone), contact)
    result = []
    for person in people:
        contact = (
            picked.get(person.contact_id)
            or (by_email.get(person.email.lower()) if person.email else None)
            or (by_phone.get(person.phone) if person.phone else None)
        )
        if contact is None:
            contact = contact_create(actor=actor, organization=organization, details=person)
            if person.email:
                by_email[person.email.lower()] = contact
            if person.phone:
                by_phone[person.phone] = contact
        result.append(contact)
    return result


def contact_create(*, actor: User | None, organization: Organization, details: ContactDetails) -> Contact:
    contact = Contact.objects.create(
        organization=organization,
        name=details.name,
        email=details.email,
        phone=details.phone or "",
        preferred_method=details.preferred_method,
        time_zone=details.time_zone,
    )
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=organization.pk,
        action=AuditAction.CONTACT_CREATE,
        obj=contact,
    )
    return contact


def contact_follow_participant(
    *, actor: User, contact: Contact, preferred_method: str, email: str, phone: str, time_zone: str
) -> Contact:
    """A host changed how a participant hears from us: their contact follows (an address is only replaced,
    never cleared). Called inside participant_update's transaction."""
    before = {
        "preferred_method": contact.preferred_method,
        "email": contact.email,
        "phone": str(contact.phone or ""),
        "time_zone": contact.time_zone,
    }
    contact.preferred_method, contact.time_zone = preferred_method, time_zone
    contact.email = email or contact.email
    contact.phone = phone or contact.phone
    contact.save(update_fields=["preferred_method", "time_zone", "email", "phone", "updated_at"])
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_UPDATE,
        obj=contact,
        before=before,
    )
    return contact


@transaction.atomic
def contact_sms_opt_out(*, phone: str, opted_out: bool) -> list[Contact]:
    """Mark (or clear) the SMS opt-out of every contact with this number (E.164), in every organisation: the
    person replied to our one sending number, so their STOP applies to all of them. Returns the contacts
    that changed; a repeated STOP keeps the time of the first one. Nobody is behind this change: the actor
    is None."""
    now = timezone.now()
    changed = []
    for contact in Contact.objects.select_for_update().filter(phone=phone).order_by("pk"):
        if (contact.sms_opted_out_at is not None) == opted_out:
            continue
        contact.sms_opted_out_at = now if opted_out else None
        contact.save(update_fields=["sms_opted_out_at", "updated_at"])
        audit_record(
            actor=None,
            acting_for=None,
            organization_id=contact.organization_id,
            action=AuditAction.CONTACT_SMS_OPT_OUT,
            obj=contact,
            opted_out=opted_out,
        )
        changed.append(contact)
    return changed
