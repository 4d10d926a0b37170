from accounts.models import Organization
from contacts.models import Contact


def contact_match_or_create(
    *, organization: Organization, name: str, email: str, phone, preferred_method: str, time_zone: str
) -> Contact:
    """The organisation's contact for this person: matched by email, then phone; created when new.

    Called from inside the services that add participants, which own the transaction and the audit event.
    """
    contacts = Contact.objects.filter(organization=organization)
    contact = None
    if email:
        contact = contacts.filter(email__iexact=email).first()
    if contact is None and phone:
        contact = contacts.filter(phone=phone).first()
    if contact is None:
        contact = Contact.objects.create(
            organization=organization,
            name=name,
            email=email,
            phone=phone or "",
            preferred_method=preferred_method,
            time_zone=time_zone,
        )
    return contact
