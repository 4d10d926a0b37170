from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from config.errors import ApplicationError
from notifications.models import Notification
from sessions_app.forms.reminders import ReminderSettingsForm, format_leads
from sessions_app.join.links import join_url
from sessions_app.services import reminder_leads, reminder_settings_update
from sessions_app.views.common import form_error, host_required, refuse_method


@host_required
def reminder_settings(request, host):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    current = [int(lead.total_seconds() // 60) for lead in reminder_leads(host)]
    form = ReminderSettingsForm(request.POST or None, initial={"reminders": format_leads(current)})
    if request.method == "POST" and form.is_valid():
        try:
            reminder_settings_update(
                actor=request.user, host=host, reminder_lead_minutes=form.cleaned_data["reminders"]
            )
        except ApplicationError as error:
            form_error(form, error, {"": "reminders"})
        else:
            messages.success(request, "Reminders saved. Upcoming sessions use the new times.")
            return redirect("sessions:reminder_settings")
    return render(request, "sessions_app/reminder_settings.html", {"form": form, "host": host})


def dev_outbox(request):
    """Development only: every notice written so far, with the participant's join link to click."""
    if not getattr(settings, "DEV_OUTBOX", False):
        raise Http404
    notices = list(
        Notification.objects.select_related("participant", "session").order_by("-created_at", "-id")[:200]
    )
    for notice in notices:
        notice.link = join_url(notice.participant) if notice.participant else ""
    return render(request, "sessions_app/dev_outbox.html", {"notices": notices})
