from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def signup_allowed() -> bool:
    """Whether the login page offers the public sign-up (setting ALLOW_SIGNUP)."""
    return bool(getattr(settings, "ALLOW_SIGNUP", False))
