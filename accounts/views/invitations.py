"""Accepting an invitation: the link's page, then the form where the invited person sets their name, time
zone and password, and is logged in.

The token is a bearer secret in a URL (like a join link, DESIGN.md rule 5): the first visit trades it for a
short signed cookie and redirects to /welcome/, an address without it, and that answer says
`Referrer-Policy: no-referrer`. The form lives at /welcome/ because a page sent with no-referrer posts with
"Origin: null", which Django's CSRF check refuses; with no token in its address, the form page can keep the
site's same-origin policy. config/logging.py cuts the token out of every log line."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from accounts.forms.team import AcceptInvitationForm
from accounts.notices import invitation_role_words
from accounts.services import invitation_accept, invitation_for_token, invitation_problem
from config.errors import ApplicationError
from sessions_app.views.common import form_error, refuse_method

_COOKIE = "invitation"
_COOKIE_SALT = "consultations.invitation-cookie"
_COOKIE_PATH = "/welcome/"
# Long enough to read the page and choose a password; the invitation's own expiry still applies.
_COOKIE_MAX_AGE = 60 * 60


def _problem_page(request, problem: str):
    response = render(request, "accounts/invitation_problem.html", {"problem": problem}, status=404)
    response["Referrer-Policy"] = "no-referrer"
    response.delete_cookie(_COOKIE, path=_COOKIE_PATH)
    return response


@never_cache
def invitation_open(request, token: str):
    """The link in the invitation email."""
    if refused := refuse_method(request, "GET", "HEAD"):
        return refused
    invitation = invitation_for_token(token)
    if problem := invitation_problem(invitation):
        return _problem_page(request, problem)
    response = redirect("accounts:invitation_form")
    response.set_signed_cookie(
        _COOKIE,
        token,
        salt=_COOKIE_SALT,
        max_age=_COOKIE_MAX_AGE,
        path=_COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


def _token_from_cookie(request) -> str:
    try:
        return request.get_signed_cookie(_COOKIE, salt=_COOKIE_SALT, max_age=_COOKIE_MAX_AGE)
    except (KeyError, signing.BadSignature):
        return ""


def _landing(user) -> str:
    return "sessions:dashboard" if user.is_host else "accounts:scheduling"


@never_cache
def invitation_form(request):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    token = _token_from_cookie(request)
    invitation = invitation_for_token(token)
    if problem := invitation_problem(invitation):
        return _problem_page(request, problem)
    form = AcceptInvitationForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": invitation.organization.default_participant_time_zone},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                full_name=form.cleaned_data["full_name"],
                time_zone=form.cleaned_data["time_zone"],
                password=form.cleaned_data["password"],
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.organization.name}, {user.get_short_name()}.")
            response = redirect(_landing(user))
            response.delete_cookie(_COOKIE, path=_COOKIE_PATH)
            return response
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "role_words": invitation_role_words(invitation), "form": form},
    )
