from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contacts.selectors import contacts_matching


@login_required
@require_GET
@never_cache
def contact_autocomplete(request):
    """Contacts of the actor's own organisation for the participant forms' autofill, as JSON.

    The scope is the logged-in person's organisation, never a parameter, so nobody can look into another
    organisation's address book. The script renders the values as text, never as HTML.
    """
    contacts = contacts_matching(organization=request.user.organization, query=request.GET.get("q", ""))
    results = [
        {
            "id": contact.pk,
            "name": contact.name,
            "email": contact.email,
            "phone": str(contact.phone) if contact.phone else "",
            "preferred_method": contact.preferred_method,
            "time_zone": contact.time_zone,
        }
        for contact in contacts
    ]
    return JsonResponse({"results": results})
