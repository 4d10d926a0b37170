from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.errors import ApplicationError
from accounts.middleware import host_or_redirect
from notifications.forms import ReminderSettingsForm, format_leads
from notifications.models import Notification
from notifications.services import notice_settings_update, reminder_leads
from sessions_app.join_links import join_url


@login_required
def reminder_settings(request):
    host, response = host_or_redirect(request)
    if response:
        return response
    current = [int(lead.total_seconds() // 60) for lead in reminder_leads(host)]
    form = ReminderSettingsForm(request.POST or None, initial={"reminders": format_leads(current)})
    if request.method == "POST" and form.is_valid():
        try:
            notice_settings_update(
                actor=request.user, host=host, reminder_lead_minutes=form.cleaned_data["reminders"]
            )
        except ApplicationError as error:
            form.add_error("reminders", error.message)
        else:
            messages.success(request, "Reminders saved. Upcoming sessions use the new times.")
            return redirect("notifications:reminder_settings")
    return render(request, "notifications/reminder_settings.html", {"form": form, "host": host})


def dev_outbox(request):
    """Development only: every notice written so far, with the participant's join link to click."""
    if not getattr(settings, "DEV_OUTBOX", False):
        raise Http404
    notices = list(
        Notification.objects.select_related("participant", "session").order_by("-created_at", "-id")[:200]
    )
    for notice in notices:
        notice.link = join_url(notice.participant) if notice.participant else ""
    return render(request, "notifications/dev_outbox.html", {"notices": notices})
