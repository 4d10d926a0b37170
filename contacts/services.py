"""Every write of a contact goes through here (DESIGN.md rule 1), audited."""

from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.audit import AuditAction, audit_details_erase, audit_record
from accounts.models import Organization, User
from accounts.timezones import TIME_ZONE_CHOICES
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.models import Contact, InviteMethod
from contacts.selectors import contact_data_export, contacts_emails_taken
from documents.services import submissions_erase
from notifications.channels import text_channels_available
from notifications.services import notices_erase_recipient

# A record note is a few lines about the person, not a file store.
MAX_NOTE_LENGTH = 2000
MAX_NAME_LENGTH = Contact._meta.get_field("name").max_length
MAX_EMAIL_LENGTH = Contact._meta.get_field("email").max_length
# A CSV import is one transaction: bounded so it stays a short one.
MAX_IMPORT_ROWS = 5000
ZONE_NAMES = frozenset(name for name, _label in TIME_ZONE_CHOICES)
TEXT_METHODS = (InviteMethod.SMS, InviteMethod.WHATSAPP)


@dataclass
class ContactDetails:
    name: str
    email: str = ""
    phone: str = ""
    preferred_method: str = ""
    time_zone: str = "UTC"
    contact_id: int | None = None
    note: str = ""


def phone_e164(value: str) -> str | None:
    """The number in E.164 (+447911123456), or None when it is not a valid number in international form."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_details_errors(details: ContactDetails) -> dict[str, str]:
    """Every problem with a contact's details, by field: the forms show one, the CSV preview shows them all
    on the row. Participants are added from contacts, so a contact holds what a participant needs: a name
    and an address for the method it asks for."""
    errors = {}
    for field in ("name", "email", "phone", "preferred_method", "time_zone", "note"):
        # PostgreSQL refuses a NUL in text; no form lets one in, a file might.
        if "\x00" in str(getattr(details, field)):
            errors[field] = "Contains a NUL character."
    name, email, phone = details.name.strip(), details.email.strip(), details.phone.strip()
    if len(name) < 2:
        errors.setdefault("name", "A contact's name needs at least 2 characters.")
    elif len(name) > MAX_NAME_LENGTH:
        errors.setdefault("name", f"A name has at most {MAX_NAME_LENGTH} characters.")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("email", f"“{email[:60]}” is not a valid email address.")
        if len(email) > MAX_EMAIL_LENGTH:
            errors.setdefault("email", f"An email address has at most {MAX_EMAIL_LENGTH} characters.")
    if phone and phone_e164(phone) is None:
        errors.setdefault(
            "phone", f"“{phone[:40]}” is not a valid phone number in international form (+44 7911 123456)."
        )
    method = details.preferred_method
    if method not in InviteMethod.values:
        errors.setdefault(
            "preferred_method", f"Unknown invite method “{method[:40]}”: use email, sms, whatsapp or none."
        )
    elif method == InviteMethod.EMAIL and not email:
        errors.setdefault("email", "Enter an email address: the invites go by email.")
    elif method in TEXT_METHODS and method not in text_channels_available():
        label = InviteMethod(method).label
        errors.setdefault("preferred_method", f"{label} messages cannot be sent from this site.")
    elif method in TEXT_METHODS and not phone:
        errors.setdefault("phone", f"Enter a mobile number: the invites go by {InviteMethod(method).label}.")
    if details.time_zone not in ZONE_NAMES:
        errors.setdefault("time_zone", f"Unknown time zone “{details.time_zone[:64]}”.")
    if len(details.note) > MAX_NOTE_LENGTH:
        errors.setdefault("note", f"A note has at most {MAX_NOTE_LENGTH} characters.")
    return errors


def check_contact_details(details: ContactDetails) -> None:
    if errors := contact_details_errors(details):
        field, message = next(iter(errors.items()))
        raise ValidationFailedError(message, field=field)


def check_manages_contacts(*, actor: User | None, organization_id: int) -> None:
    """Contacts are the organisation's: every host and scheduler of it manages them, nobody else. No actor
    is the product itself (a STOP reply)."""
    if actor is None:
        return
    organization = actor.organization
    if (
        not (actor.is_host or actor.is_scheduler)
        or organization is None
        or organization.id != organization_id
    ):
        raise PermissionDeniedError("You cannot manage this organisation's contacts.")


def _contact_values(details: ContactDetails) -> dict[str, str]:
    """What a contact stores from valid details: trimmed, the number in E.164."""
    phone = details.phone.strip()
    return {
        "name": details.name.strip(),
        "email": details.email.strip(),
        "phone": phone_e164(phone) if phone else "",
        "preferred_method": details.preferred_method,
        "time_zone": details.time_zone,
        "note": details.note.strip(),
    }


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
    """A new contact, from the Contacts page or for a new person added to a session. Inside the services
    that add participants the transaction is theirs: savepoint=False adds no savepoint to each new person."""
    check_manages_contacts(actor=actor, organization_id=organization.pk)
    check_contact_details(details)
    with transaction.atomic(savepoint=False):
        contact = Contact.objects.create(organization=organization, **_contact_values(details))
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


def _locked(contact: Contact) -> Contact:
    return Contact.objects.select_for_update().get(pk=contact.pk)


# The services below reach participants through sessions_app's own services, which import this module to
# match contacts: their import waits until the call instead of making a cycle when the modules load.


@transaction.atomic
def contact_update(*, actor: User, contact: Contact, details: ContactDetails) -> Contact:
    """Change a contact; their participants on sessions still to come take the new name and details, so a
    corrected address reaches the next invite and reminders (sessions_app.participants_follow_contact).

    The follow happens here rather than in the view: whoever changes a contact (this page, a later import or
    API) cannot save it and forget its participants, and the two land in one transaction. The audit event
    names the fields that changed, never their values, so the log holds no personal data to erase later."""
    from sessions_app.services import participants_follow_contact

    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    check_contact_details(details)
    contact = _locked(contact)
    values = _contact_values(details)
    changed = [field for field, value in values.items() if str(getattr(contact, field) or "") != value]
    if not changed:
        return contact
    for field in changed:
        setattr(contact, field, values[field])
    contact.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_UPDATE,
        obj=contact,
        changed=changed,
    )
    if set(changed) - {"note"}:
        participants_follow_contact(actor=actor, contact=contact)
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact) -> None:
    """Take a contact out of the address book. Their participations stay on the sessions (without the
    link), and so do their submitted documents: deleting is not erasing (contact_erase)."""
    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    contact = _locked(contact)
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_DELETE,
        obj=contact,
    )
    contact.delete()


@transaction.atomic
def contacts_import(
    *, actor: User, organization: Organization, people: list[ContactDetails]
) -> list[Contact]:
    """Add the people of a checked CSV file as contacts, all or none: checked again here, since contacts may
    have been added between the preview and the confirmation, and any row that no longer passes refuses
    the whole import. One insert for all of them and one audit event with the count."""
    check_manages_contacts(actor=actor, organization_id=organization.pk)
    if len(people) > MAX_IMPORT_ROWS:
        raise ValidationFailedError(f"An import has at most {MAX_IMPORT_ROWS:,} contacts.")
    emails = [person.email.strip().lower() for person in people if person.email.strip()]
    invalid = sum(1 for person in people if contact_details_errors(person))
    taken = contacts_emails_taken(organization=organization, emails=emails)
    if invalid or taken or len(set(emails)) != len(emails):
        raise ValidationFailedError(
            "Nothing was imported: some rows no longer pass the checks (a contact with the same email may "
            "have been added since the preview). Upload the file again to see them."
        )
    contacts = Contact.objects.bulk_create(
        [Contact(organization=organization, **_contact_values(person)) for person in people], batch_size=500
    )
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=organization.pk,
        action=AuditAction.CONTACTS_IMPORT,
        obj=organization,
        count=len(contacts),
    )
    return contacts


def contact_viewed(*, actor: User, contact: Contact) -> None:
    """Someone opened a contact's page: who read a person's details is part of the record (the page shows
    their address, their sessions and their documents)."""
    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_VIEW,
        obj=contact,
    )


def contacts_exported(*, actor: User, organization: Organization) -> None:
    """The whole address book left as a CSV file."""
    check_manages_contacts(actor=actor, organization_id=organization.pk)
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=organization.pk,
        action=AuditAction.CONTACTS_EXPORT,
        obj=organization,
    )


@transaction.atomic
def contact_export_data(*, actor: User, contact: Contact) -> dict:
    """Everything the organisation holds about a contact, as plain JSON data, for their access request.
    Audited with the counts only: the event says the data left, not what it was."""
    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    data = contact_data_export(contact=contact)
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_EXPORT_DATA,
        obj=contact,
        participations=len(data["participations"]),
        notices=len(data["notices"]),
        submissions=len(data["submissions"]),
    )
    return data


@transaction.atomic
def contact_erase(*, actor: User, contact: Contact) -> dict[str, int]:
    """Erase a person on their request: their details leave the past participations ("Erased contact"),
    the notices sent to them, their submitted documents and the earlier audit events, and the contact row
    itself is deleted. The sessions, the notices and the submissions stay as records that something
    happened, with nobody named in them. Refused while they are on a session still to come or under way:
    the host removes them from it first, so nobody is left expecting an invite that can no longer reach
    them. Returns what was erased, by kind."""
    from sessions_app.services import participants_erase

    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    contact = _locked(contact)
    participants = participants_erase(actor=actor, contact=contact)
    personal = {contact.name, contact.email, str(contact.phone or "")}
    for participant in participants:
        personal |= {participant.name, participant.email, str(participant.phone or "")}
    erased = {
        "participations": len(participants),
        "notices": notices_erase_recipient(participants=participants),
        "submissions": submissions_erase(contact=contact),
    }
    audit_details_erase(
        organization_id=contact.organization_id, objects=[contact, *participants], values=personal
    )
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.CONTACT_ERASE,
        obj=contact,
        **erased,
    )
    contact.delete()
    return erased
