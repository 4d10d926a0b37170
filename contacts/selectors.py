from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import Organization
from contacts.models import Contact

AUTOCOMPLETE_MIN_LENGTH = 2
AUTOCOMPLETE_LIMIT = 8
# The longest name or email a contact can have: a longer query cannot match (and SQLite refuses a LIKE
# pattern of 50,000 characters).
AUTOCOMPLETE_MAX_LENGTH = max(Contact._meta.get_field(name).max_length for name in ("name", "email"))


def contacts_matching(
    *, organization: Organization | None, query: str, limit: int = AUTOCOMPLETE_LIMIT
) -> QuerySet[Contact]:
    """The organisation's contacts whose name or email contains the query, names starting with it first.

    Fewer than two characters match nothing: one letter would list most of the address book to anyone who
    types it, and helps nobody pick a person. Neither does a NUL character, which no form lets into a name
    or an email, and which PostgreSQL refuses in a query.
    """
    query = query.strip()
    if organization is None or "\x00" in query:
        return Contact.objects.none()
    if not AUTOCOMPLETE_MIN_LENGTH <= len(query) <= AUTOCOMPLETE_MAX_LENGTH:
        return Contact.objects.none()
    return (
        Contact.objects.filter(organization=organization)
        .filter(Q(name__icontains=query) | Q(email__icontains=query))
        .annotate(
            rank=Case(
                When(name__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("rank", "name", "id")[:limit]
    )
