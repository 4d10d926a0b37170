"""The audit log page: every event the reader may see (accounts.audit_log.audit_events_visible_to), in
their zone and in words, filtered, paginated and exported as CSV. An export is itself recorded."""

from itertools import chain, islice

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts.audit_log import AuditFilterForm, AuditFilters, audit_events_for, described
from accounts.services import audit_log_exported
from accounts.views.profile import require_member
from config.csv import csv_lines
from sessions_app.timefmt import in_zone
from sessions_app.views.common import refuse_method

AUDIT_PAGE_SIZE = 50
CSV_CHUNK = 500


@login_required
def audit_log(request):
    require_member(request)
    if refused := refuse_method(request, "GET"):
        return refused
    form = AuditFilterForm(request.GET, actor=request.user)
    if form.is_valid():
        events = audit_events_for(actor=request.user, filters=form.filters())
    else:
        events = audit_events_for(actor=request.user, filters=AuditFilters()).none()
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = described(page.object_list, zone_name=request.user.time_zone)
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "page": page,
            "csv_url": f"{reverse('accounts:audit_log_csv')}?{filters.urlencode()}",
            "zone_name": request.user.time_zone,
        },
    )


CSV_HEADER = ["Date", "Time", "Time zone", "Who", "Acting for", "What", "Details"]


def _person(user) -> str:
    return (user.full_name or user.email) if user is not None else ""


def _csv_rows(events, zone_name: str):
    iterator = events.iterator(chunk_size=CSV_CHUNK)
    while chunk := list(islice(iterator, CSV_CHUNK)):
        # The names a chunk mentions are read together: a few queries per 500 events, not per event.
        for event in described(chunk, zone_name=zone_name):
            local = in_zone(event.created_at, zone_name)
            yield [
                f"{local:%Y-%m-%d}",
                f"{local:%H:%M:%S}",
                f"{local.tzname()} ({zone_name})",
                _person(event.actor) or "The product",
                _person(event.acting_for),
                event.action_label,
                event.description,
            ]


@login_required
def audit_log_csv(request):
    require_member(request)
    if refused := refuse_method(request, "GET"):
        return refused
    form = AuditFilterForm(request.GET, actor=request.user)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "The audit log's filters are not valid; correct them on the Audit log page."
        )
    filters = form.filters()
    # A GET that writes one audit row: the export is a read, and the log must say who took its contents out
    # (what is exported is the person's own choice of filters, and a reload records it again, as it should).
    audit_log_exported(actor=request.user, filters=filters.for_audit())
    events = audit_events_for(actor=request.user, filters=filters)
    rows = chain([CSV_HEADER], _csv_rows(events, request.user.time_zone))
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    today = timezone.now().astimezone(request.user.zone).date()
    organization = request.user.organization
    response["Content-Disposition"] = (
        f'attachment; filename="audit-log-{organization.slug or organization.pk}-{today:%Y-%m-%d}.csv"'
    )
    return response
