"""The pieces every session view uses: the host a page works on, the HTTP method, a service's refusal
shown on a form, and why a participant form asks no payment."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from billing.selectors import payments_enabled
from billing.services import PaymentAsk
from billing.templatetags.money import money
from config.errors import ApplicationError


def host_required(view):
    """The view works on one host's sessions and receives that host after the request: a host's own, or the
    one a scheduler chose on the Scheduling tab (a scheduler who has chosen none is sent there); any other
    account has no sessions (404)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.host is None:
            if request.user.is_scheduler:
                return redirect("accounts:scheduling")
            raise Http404("This account has no sessions.")
        return view(request, request.host, *args, **kwargs)

    return wrapped


def safe_next_url(request, default: str) -> str:
    """Where a posted `next` (or ?next=) asks to go back to when it is a path on this site, else `default`.

    Views read it before they write anything and hand it to HttpResponseRedirect, never to redirect(): that
    one takes a plain word ("home", "-1") for a view name and fails with a 500 after the change is saved, so
    a retry repeats it. An unchecked next would also let a crafted link send a logged-in host to another
    site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if (
        candidate.startswith("/")
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


def refuse_method(request, *allowed: str) -> HttpResponseNotAllowed | None:
    """A 405 unless the request uses one of `allowed`. Called after the view has loaded its objects in the
    actor's scope, so a 405 never tells a stranger that something exists."""
    return None if request.method in allowed else HttpResponseNotAllowed(allowed)


def form_error(form, error: ApplicationError, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal, shown on the field it names (under this form's name for it, `aliases`) when the
    form has that field, else above the form; each of its reasons (`details`) on its own line."""
    name = (aliases or {}).get(error.field or "", error.field)
    for text in error.details or [error.message]:
        form.add_error(name if name in form.fields else None, text)


def payments_context(services) -> dict:
    """Why the payment fields are missing (billing/_participant_payment_note.html says it): payments off, or
    Stripe not connected. `services` is billing.forms.payment_services' answer for the page."""
    return {"payments_enabled": payments_enabled(), "payments_connected": services is not None}


def payments_asked_message(asks: list[tuple[str, PaymentAsk | None]], *, each: bool = False) -> str:
    """Who is asked to pay what (name, ask), as the Add participant page says it of one person; `each`: on
    every session of a series."""
    return "".join(
        f" {name.strip()} is asked to pay {money(ask.amount, ask.currency)} before they can join"
        f"{' each session' if each else ''}."
        for name, ask in asks
        if ask is not None
    )
