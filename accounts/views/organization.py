"""The organisation's settings, for its admins: its name, what new participants and hosts start with, the
sender name of its emails, and when and how participants may cancel for themselves."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.forms.profile import OrganizationSettingsForm
from accounts.services import OrganizationSettings, organization_settings_update
from config.errors import ApplicationError
from sessions_app.forms.reminders import format_leads
from sessions_app.views.common import form_error, refuse_method


@login_required
def organization_settings(request):
    if not request.user.is_admin:
        raise Http404("The organisation's settings are for its admins.")
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    organization = request.user.organization
    form = OrganizationSettingsForm(
        request.POST or None,
        initial={
            "name": organization.name,
            "default_participant_time_zone": organization.default_participant_time_zone,
            "default_reminder_lead_minutes": format_leads(organization.default_reminder_lead_minutes),
            "sender_name": organization.sender_name,
            "cancellation_window_hours": organization.cancellation_window_hours,
            "participant_cancel_cancels_session": organization.participant_cancel_cancels_session,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            organization_settings_update(actor=request.user, values=OrganizationSettings(**form.cleaned_data))
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, "Organisation settings saved.")
            return redirect("accounts:organization_settings")
    return render(
        request, "accounts/organization_settings.html", {"form": form, "organization": organization}
    )
