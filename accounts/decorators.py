from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def organization_page(what: str):
    """A page of the organisation's own records (its address book, its payments): for its hosts and
    schedulers only; for anyone else it does not exist (404), so nobody learns what another account has."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not (user.is_host or user.is_scheduler) or user.organization is None:
                raise Http404(f"This account has no {what}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def admin_page(view):
    """A page of running the organisation (its team): for its admins only. For anyone else, a host, a
    scheduler or another organisation's admin, it does not exist (404); the objects it names are loaded
    through selectors scoped to the admin's own organisation."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_admin or request.user.organization is None:
            raise Http404("This page is for the organisation's administrators.")
        return view(request, *args, **kwargs)

    return wrapped
