"""A member's own account: their name and time zone, their password, a new email address that counts only
once the link sent to it is opened, and for a host their calendars (issue 13): the subscription feed of
their sessions, and their own calendar's busy times."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.forms.profile import EmailChangeForm, ProfileForm
from accounts.services import (
    email_change_confirm,
    email_change_pending,
    email_change_request,
    password_changed,
    profile_update,
)
from config.errors import ApplicationError
from sessions_app.calendar_import import host_label
from sessions_app.forms.calendar import CalendarSourceForm
from sessions_app.models import CalendarFeed, CalendarSource
from sessions_app.services.calendar_feeds import calendar_feed_create, calendar_feed_revoke, feed_path
from sessions_app.services.calendar_sources import (
    KEEP_STALE_FOR,
    calendar_source_remove,
    calendar_source_set,
)
from sessions_app.views.common import form_error, refuse_method


def require_member(request) -> None:
    if request.user.membership is None:
        raise Http404("This account belongs to no organisation.")


def require_host(request) -> None:
    require_member(request)
    if not request.user.is_host:
        raise Http404("Only hosts connect their calendars.")


def _calendar_context(user, *, source_form=None, new_feed_token: str = "") -> dict:
    """The two calendar sections, for a host only: what exists of the subscription (the address itself only
    right after it was made, `new_feed_token`) and of the own calendar (its host name, never the address)."""
    if not user.is_host:
        return {}
    source = CalendarSource.objects.filter(host=user).first()
    context = {
        "calendar_feed": CalendarFeed.objects.filter(host=user).first(),
        "calendar_source": source,
        "source_form": source_form or CalendarSourceForm(),
    }
    if new_feed_token:
        url = settings.SITE_URL + feed_path(new_feed_token)
        context["new_feed_url"] = url
        if url.startswith("https://"):
            context["new_feed_webcal"] = "webcal://" + url.removeprefix("https://")
    if source is not None:
        context["source_label"] = host_label(source.url)
        context["source_busy_cleared"] = bool(
            source.failing_since and source.failing_since <= timezone.now() - KEEP_STALE_FOR
        )
    return context


def _profile_page(
    request, *, profile_form=None, email_form=None, source_form=None, new_feed_token="", status: int = 200
):
    user = request.user
    return render(
        request,
        "accounts/profile.html",
        {
            "form": profile_form
            or ProfileForm(initial={"full_name": user.full_name, "time_zone": user.time_zone}),
            "email_form": email_form or EmailChangeForm(),
            **_calendar_context(user, source_form=source_form, new_feed_token=new_feed_token),
        },
        status=status,
    )


@login_required
def profile(request):
    require_member(request)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            profile_update(
                actor=request.user,
                full_name=form.cleaned_data["full_name"],
                time_zone=form.cleaned_data["time_zone"],
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Profile saved. Times are shown in {request.user.time_zone}.")
            return redirect("accounts:profile")
    return _profile_page(request, profile_form=form)


@login_required
def email_change(request):
    require_member(request)
    if refused := refuse_method(request, "POST"):
        return refused
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            email_change_request(actor=request.user, new_email=form.cleaned_data["email"])
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(
                request,
                f"We sent a link to {form.cleaned_data['email'].strip().lower()}; your address changes when "
                "you open it.",
            )
            return redirect("accounts:profile")
    return _profile_page(request, email_form=form)


@never_cache
def email_confirm(request, token: str):
    """Opened from the link in the new address's inbox, logged in or not. The GET only shows what would
    change: a mail scanner that opens every link must not change anybody's login address."""
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    context = {"problem": "", "new_email": "", "confirmed": False}
    try:
        if request.method == "POST":
            context["new_email"] = email_change_confirm(token=token).email
            context["confirmed"] = True
        else:
            context["new_email"] = email_change_pending(token=token)
    except ApplicationError as error:
        context["problem"] = error.message
    response = render(request, "accounts/profile_email_confirm.html", context)
    # The link's token is in this page's address: it must not leave in a Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@login_required
def calendar_feed_create_view(request):
    """Make (or make again) the subscription address. The page is answered here rather than after a
    redirect: the address exists nowhere else once this response is sent, and is kept in no session."""
    require_host(request)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        _feed, token = calendar_feed_create(actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("accounts:profile")
    return _profile_page(request, new_feed_token=token)


@login_required
def calendar_feed_revoke_view(request):
    require_host(request)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        calendar_feed_revoke(actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Calendar subscription turned off: calendars that subscribed stop receiving your sessions.",
        )
    return redirect("accounts:profile")


@login_required
def calendar_source_set_view(request):
    require_host(request)
    if refused := refuse_method(request, "POST"):
        return refused
    form = CalendarSourceForm(request.POST)
    if form.is_valid():
        try:
            calendar_source_set(actor=request.user, url=form.cleaned_data["url"])
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(
                request,
                "Calendar saved. It is read within a few minutes, then every 15 minutes; reload this page "
                "to see how it went.",
            )
            return redirect("accounts:profile")
    return _profile_page(request, source_form=form)


@login_required
def calendar_source_remove_view(request):
    require_host(request)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        calendar_source_remove(actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your calendar is no longer read; its busy times are gone.")
    return redirect("accounts:profile")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:profile")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require_member(request)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            password_changed(actor=self.request.user)
        messages.success(self.request, "Password changed. Use the new one next time you log in.")
        return response
