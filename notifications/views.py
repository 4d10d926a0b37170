from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from notifications.models import Notification
from sessions_app.join_links import join_url


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
