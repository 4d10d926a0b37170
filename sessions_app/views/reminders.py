from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.models import Invitation
from accounts.notices import invitation_url
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
    """Development only: every notice written so far, with the participant's join link (or the invited
    colleague's invitation link) to click."""
    if not getattr(settings, "DEV_OUTBOX", False):
        raise Http404
    notices = list(
        Notification.objects.select_related("participant", "session").order_by("-created_at", "-id")[:200]
    )
    invitations = Invitation.objects.in_bulk(
        [n.context.get("invitation_id") for n in notices if n.kind == Notification.Kind.TEAM_INVITE]
    )
    for notice in notices:
        notice.link, notice.link_label = "", ""
        if notice.participant:
            notice.link, notice.link_label = (
                join_url(notice.participant),
                f"Join link for {notice.participant.name}",
            )
        invitation = invitations.get(notice.context.get("invitation_id"))
        # Only the email that carries the invitation's current link offers it (a re-sent one has a new link).
        if (
            notice.kind == Notification.Kind.TEAM_INVITE
            and invitation
            and invitation.nonce == notice.context.get("nonce")
        ):
            notice.link, notice.link_label = (
                invitation_url(invitation),
                f"Invitation link for {invitation.email}",
            )
    return render(request, "sessions_app/dev_outbox.html", {"notices": notices})
