"""Past sessions with their outcome, filtered, paginated and exported as CSV; above them, the sessions
cancelled or removed for a time still ahead.

Every object comes through the scoped selectors (a 404 outside the actor's scope)."""

from datetime import timedelta
from itertools import chain

from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from config.csv import csv_lines
from config.fragments import page_fragment
from sessions_app.forms.planning import HistoryFilterForm
from sessions_app.models import Outcome, Session
from sessions_app.selectors import (
    history_answer_counts,
    sessions_called_off_ahead_for,
    sessions_history_for,
)
from sessions_app.templatetags.session_actions import SessionUrls
from sessions_app.timefmt import in_zone, local_midnight
from sessions_app.views.common import host_required, refuse_method

HISTORY_PAGE_SIZE = 25
# A cancelled series can leave many called-off dates ahead; the page shows the soonest and says there are
# more, and the date filters reach the rest.
CALLED_OFF_AHEAD_SHOWN = 25


def _history_filters(request, form: HistoryFilterForm) -> dict:
    """The form's filters for the selectors; the dates are the viewer's local days, both ends included."""
    zone = request.user.zone
    start = form.cleaned_data.get("start")
    end = form.cleaned_data.get("end")
    return {
        "start": local_midnight(start, zone) if start else None,
        "end": local_midnight(end + timedelta(days=1), zone) if end else None,
        "outcome": form.cleaned_data.get("outcome") or "",
    }


def _history_sessions(request, host, form: HistoryFilterForm):
    return sessions_history_for(actor=request.user, host=host, **_history_filters(request, form))


@host_required
def history(request, host):
    if refused := refuse_method(request, "GET"):
        return refused
    form = HistoryFilterForm(request.GET)
    filters = request.GET.copy()
    filters.pop("page", None)

    def load() -> dict:
        sessions = _history_sessions(request, host, form) if form.is_valid() else Session.objects.none()
        page = Paginator(sessions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
        urls = SessionUrls()
        for session in page:
            session.outcome_label = Outcome(session.outcome_value).label
            session.detail_url = urls("detail", session.pk)
        called_off_ahead = []
        answer_counts = (
            history_answer_counts(actor=request.user, host=host, **_history_filters(request, form))
            if form.is_valid()
            else []
        )
        if form.is_valid() and page.number == 1:
            called_off_ahead = list(
                sessions_called_off_ahead_for(
                    actor=request.user, host=host, **_history_filters(request, form)
                )[: CALLED_OFF_AHEAD_SHOWN + 1]
            )
            for session in called_off_ahead:
                session.outcome_label = Outcome(session.outcome_value).label
                session.detail_url = urls("detail", session.pk)
        return {
            "form": form,
            "page": page,
            "called_off_ahead": called_off_ahead[:CALLED_OFF_AHEAD_SHOWN],
            "more_called_off_ahead": len(called_off_ahead) > CALLED_OFF_AHEAD_SHOWN,
            "answer_counts": answer_counts,
        }

    # A session joins the history when it ends: the clock's part, which the page fragment's age bounds.
    content = page_fragment(
        request,
        name="history",
        template="sessions_app/planning/_history_content.html",
        load=load,
        vary=(host.pk,),
    )
    return render(
        request,
        "sessions_app/planning/history.html",
        {
            "host": host,
            "content": content,
            "csv_url": f"{reverse('sessions:history_csv')}?{filters.urlencode()}",
            "zone_name": request.user.time_zone,
        },
    )


CSV_HEADER = [
    "Date",
    "Start",
    "End",
    "Time zone",
    "Title",
    "Host",
    "Participants",
    "Outcome",
    "Cancel reason",
]


def _csv_row(session: Session, zone_name: str) -> list[str]:
    start, end = in_zone(session.start_at, zone_name), in_zone(session.end_at, zone_name)
    return [
        f"{start:%Y-%m-%d}",
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        f"{start.tzname()} ({zone_name})",
        session.title,
        session.host.full_name,
        "; ".join(p.name for p in session.active_participants),
        Outcome(session.outcome_value).label,
        session.cancel_reason,
    ]


@host_required
def history_csv(request, host):
    if refused := refuse_method(request, "GET"):
        return refused
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("The history filters are not valid; correct them on the History page.")
    zone_name = request.user.time_zone
    sessions = _history_sessions(request, host, form)
    rows = chain([CSV_HEADER], (_csv_row(s, zone_name) for s in sessions.iterator(chunk_size=500)))
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    today = timezone.now().astimezone(request.user.zone).date()
    filename = f"history-{slugify(host.full_name) or host.pk}-{today:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
