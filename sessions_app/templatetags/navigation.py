"""The main navigation's links, with the link of the section the current page belongs to marked as current
(`active` for the eye, `aria-current="page"` for a screen reader)."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()

# A whole app is one section of the navigation.
SECTION_OF_NAMESPACE = {
    "contacts": "contacts",
    "documents": "documents",
    "billing": "payments",
}
# The accounts app holds several sections: a page belongs to the one its URL name starts with.
ACCOUNTS_SECTION_PREFIXES = {
    "scheduling": "scheduling",
    "act_for": "scheduling",
    "stop_acting": "scheduling",
    "profile": "profile",
    "password_change": "profile",
    "email_": "profile",
    "organization_settings": "settings",
    "audit": "audit",
    "team": "team",
    "member_": "team",
    "invitation_": "team",
}
# Within the sessions app, a page belongs to the section its URL name starts with; everything else in it (a
# session's page, its actions, its participants, the Schedule form) is reached from the dashboard.
SESSIONS_SECTION_PREFIXES = {
    "calendar": "calendar",
    "history": "history",
    "working_hours": "working_hours",
    "blocked_slot": "working_hours",
    "room": "rooms",
    "reminder_settings": "reminders",
}


def section_of(resolver_match) -> str:
    """The navigation section of a resolved URL, or "" for pages outside the navigation (login, join)."""
    if resolver_match is None:
        return ""
    namespace, name = resolver_match.namespace, resolver_match.url_name or ""
    if namespace in SECTION_OF_NAMESPACE:
        return SECTION_OF_NAMESPACE[namespace]
    if namespace == "accounts":
        return next(
            (section for prefix, section in ACCOUNTS_SECTION_PREFIXES.items() if name.startswith(prefix)), ""
        )
    if namespace != "sessions":
        return ""
    for prefix, section in SESSIONS_SECTION_PREFIXES.items():
        if name.startswith(prefix):
            return section
    return "dashboard"


@register.simple_tag(takes_context=True)
def nav_link(context, section: str, url_name: str, label: str, extra_class: str = ""):
    request = context.get("request")
    current = section_of(getattr(request, "resolver_match", None)) == section
    classes = " ".join(filter(None, ["nav-link", "active" if current else "", extra_class]))
    if current:
        return format_html(
            '<a class="{}" href="{}" aria-current="page">{}</a>', classes, reverse(url_name), label
        )
    return format_html('<a class="{}" href="{}">{}</a>', classes, reverse(url_name), label)
