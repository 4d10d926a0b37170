from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import Organization
from contacts.models import Contact

AUTOCOMPLETE_MIN_LENGTH = 2
AUTOCOMPLETE_LIMIT = 8


def contacts_matching(
    *, organization: Organization | None, query: str, limit: int = AUTOCOMPLETE_LIMIT
) -> QuerySet[Contact]:
    """The organisation's contacts whose name or email contains the query, names starting with it first.

    Fewer than two characters match nothing: one letter would list most of the address book to anyone who
    types it, and helps nobody pick a person.
    """
    query = query.strip()
    if organization is None or len(query) < AUTOCOMPLETE_MIN_LENGTH:
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
