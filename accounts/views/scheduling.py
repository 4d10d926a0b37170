"""The scheduler's Scheduling tab and acting for a host, and the login and password reset views."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import EmailAuthenticationForm
from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.selectors import hosts_actor_may_act_for
from accounts.throttling import password_reset_allowed
from sessions_app.views.common import safe_next_url


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_redirect_url(self):
        # The one check every ?next= of the product goes through; "" falls back to LOGIN_REDIRECT_URL.
        return safe_next_url(self.request, "")


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        if password_reset_allowed(request=self.request, email=form.cleaned_data["email"]):
            return super().form_valid(form)
        # The same "sent" page as always: another answer would tell which addresses have an account.
        return HttpResponseRedirect(self.get_success_url())


def _require_scheduler(request):
    if not request.user.is_scheduler:
        raise Http404("The Scheduling tab is for schedulers.")


@login_required
def scheduling(request):
    _require_scheduler(request)
    hosts = hosts_actor_may_act_for(actor=request.user)
    return render(request, "accounts/scheduling.html", {"hosts": hosts})


@login_required
def act_for(request, host_id: int):
    _require_scheduler(request)
    host = get_object_or_404(hosts_actor_may_act_for(actor=request.user), pk=host_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    request.session[ACTING_FOR_SESSION_KEY] = host.pk
    return redirect("sessions:dashboard")


@login_required
@require_POST
def stop_acting(request):
    request.session.pop(ACTING_FOR_SESSION_KEY, None)
    return redirect("accounts:scheduling")
