"""A host's calendar subscription, as Google Calendar, Outlook and Apple Calendar read it: no login, the token
in the address is the key (sessions_app.services.calendar_feeds)."""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe

from sessions_app.calendar_file import host_feed
from sessions_app.services.calendar_feeds import calendar_feed_host, calendar_feed_sessions


@require_safe
def calendar_feed(request, token: str):
    host = calendar_feed_host(token=token)
    if host is None:
        # Unknown, replaced and turned-off addresses alike: nothing says which.
        raise Http404("No such calendar.")
    response = HttpResponse(
        host_feed(host=host, sessions=calendar_feed_sessions(host=host)),
        content_type="text/calendar; charset=utf-8",
    )
    # Private: the feed is one host's diary, never to be kept by a shared cache; five minutes spare the
    # database a calendar program that asks too often.
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
