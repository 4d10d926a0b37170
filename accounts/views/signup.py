"""The public sign-up (setting ALLOW_SIGNUP): a new organisation and its first admin, logged in at once.
Off by default: a self-hosted installation makes its organisation with `manage.py create_organization`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.forms.profile import SignUpForm
from accounts.services import organization_sign_up
from accounts.throttling import SIGNUPS_PER_ADDRESS, signup_allowed
from config.errors import ApplicationError
from sessions_app.views.common import form_error, refuse_method

# The service's names for what the form calls otherwise.
FIELD_ALIASES = {"name": "organization_name", "password": "password1"}


def signup(request):
    if not settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is off on this installation.")
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST or None, initial={"time_zone": "Europe/London", "hosts": True})
    if request.method == "POST" and form.is_valid():
        if not signup_allowed(request=request):
            form.add_error(
                None,
                f"More than {SIGNUPS_PER_ADDRESS} organisations were created from your network in the last "
                "hour. Try again later.",
            )
        else:
            data = form.cleaned_data
            try:
                user = organization_sign_up(
                    name=data["organization_name"],
                    full_name=data["full_name"],
                    email=data["email"],
                    password=data["password1"],
                    time_zone=data["time_zone"],
                    hosts=data["hosts"],
                )
            except ApplicationError as error:
                form_error(form, error, FIELD_ALIASES)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome! {user.organization.name} is ready.")
                return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})
