"""The Payments pages of an organisation's hosts and schedulers: the Stripe connection and the late-cancel
rule, the services and their prices, and what was paid, refunded and invoiced.

Every page works on the actor's own organisation, never on one named in the request; a service is loaded
through services_of that organisation (a 404 outside it) before the HTTP method is looked at. Each change is
one service call whose refusal becomes a form error or a message.
"""

from datetime import timedelta
from itertools import chain

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.decorators import organization_page
from accounts.selectors import hosts_actor_may_act_for
from billing.forms import BillingSettingsForm, PaymentFilterForm, ServiceForm, decimal_of
from billing.models import Invoice, Payment
from billing.selectors import (
    invoices_visible_to,
    payments_enabled,
    payments_visible_to,
    services_of,
    stripe_connection_of,
)
from billing.services import (
    billing_settings_update,
    service_create,
    service_deactivate,
    service_update,
    stripe_connect_refresh,
    stripe_connect_start,
)
from billing.services.common import check_manages_billing
from config.csv import csv_lines
from config.errors import ApplicationError
from sessions_app.timefmt import in_zone, local_midnight
from sessions_app.views.common import form_error, refuse_method

PAYMENTS_PAGE_SIZE = 25


billing_manager_required = organization_page("payments")


def _manages_billing(request) -> bool:
    """Whether the page offers the changes: the services have the last word, this only hides what they
    would refuse (a scheduler sees the payments, the organisation's admins and hosts set them up)."""
    try:
        check_manages_billing(actor=request.user, organization=request.user.organization)
    except ApplicationError:
        return False
    return True


# The Stripe connection and the late-cancel rule ------------------------------------------------------------


@billing_manager_required
def billing_settings(request):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    organization = request.user.organization
    manages = _manages_billing(request)
    connection = stripe_connection_of(organization) if payments_enabled() else None
    form = None
    if connection is not None and manages:
        initial = {
            "late_cancel_hours": connection.late_cancel_hours,
            "late_cancel_fee_percent": connection.late_cancel_fee_percent,
        }
        form = BillingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form is None:
            messages.error(request, "There is nothing to change here.")
            return redirect("billing:settings")
        if form.is_valid():
            try:
                billing_settings_update(actor=request.user, organization=organization, **form.cleaned_data)
            except ApplicationError as error:
                form_error(form, error)
            else:
                messages.success(request, "The late cancellation rule is saved.")
                return redirect("billing:settings")
    return render(
        request,
        "billing/settings.html",
        {
            "payments_enabled": payments_enabled(),
            "connection": connection,
            "form": form,
            "manages_billing": manages,
        },
    )


@billing_manager_required
def stripe_connect_view(request):
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        onboarding_url = stripe_connect_start(
            actor=request.user,
            organization=request.user.organization,
            # The address the browser really used (a host allowed by ALLOWED_HOSTS), so Stripe sends the
            # person back to the site they started from.
            return_url=request.build_absolute_uri(reverse("billing:connect_return")),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("billing:settings")
    return HttpResponseRedirect(onboarding_url)


@billing_manager_required
def stripe_connect_return(request):
    """Where Stripe's onboarding sends the person back: what Stripe now says of the account is read."""
    if refused := refuse_method(request, "GET"):
        return refused
    try:
        connection = stripe_connect_refresh(organization=request.user.organization)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if connection is None:
            messages.info(request, "No Stripe account is connected yet.")
        elif connection.charges_enabled:
            messages.success(request, "Stripe is connected: participants can be asked to pay.")
        else:
            messages.info(
                request, "Stripe does not take charges for this account yet: finish its onboarding."
            )
    return redirect("billing:settings")


# Services ---------------------------------------------------------------------------------------------------


def _service_or_404(request, pk: int):
    return get_object_or_404(services_of(request.user.organization), pk=pk)


@billing_manager_required
def service_list(request):
    if refused := refuse_method(request, "GET"):
        return refused
    services = services_of(request.user.organization).order_by("-is_active", "name", "id")
    return render(
        request,
        "billing/service_list.html",
        {
            "services": services,
            "payments_enabled": payments_enabled(),
            "manages_billing": _manages_billing(request),
        },
    )


@billing_manager_required
def service_create_view(request):
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service = service_create(
                actor=request.user, organization=request.user.organization, **form.service_fields()
            )
        except ApplicationError as error:
            form_error(form, error, {"price_amount": "price"})
        else:
            messages.success(request, f"“{service.name}” is added.")
            return redirect("billing:services")
    return render(request, "billing/service_form.html", {"form": form, "service": None})


@billing_manager_required
def service_edit_view(request, pk: int):
    service = _service_or_404(request, pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = ServiceForm(request.POST or None, service=service)
    if request.method == "POST" and form.is_valid():
        try:
            service = service_update(actor=request.user, service=service, **form.service_fields())
        except ApplicationError as error:
            form_error(form, error, {"price_amount": "price"})
        else:
            messages.success(request, f"“{service.name}” is saved.")
            return redirect("billing:services")
    return render(request, "billing/service_form.html", {"form": form, "service": service})


@billing_manager_required
def service_deactivate_view(request, pk: int):
    service = _service_or_404(request, pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        service_deactivate(actor=request.user, service=service)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"“{service.name}” is no longer offered. Payments already asked for it stay as they are."
        )
    return redirect("billing:services")


# Payments, refunds and invoices -----------------------------------------------------------------------------


def _filtered(request, form: PaymentFilterForm) -> tuple:
    """The actor's payments and invoices narrowed by the filters; the dates are the viewer's local days of
    the sessions, both ends included."""
    payments = payments_visible_to(request.user)
    invoices = invoices_visible_to(request.user)
    data = form.cleaned_data
    zone = request.user.zone
    if data.get("host") is not None:
        payments = payments.filter(session__host=data["host"])
        invoices = invoices.filter(session__host=data["host"])
    if data.get("start"):
        since = local_midnight(data["start"], zone)
        payments = payments.filter(session__start_at__gte=since)
        invoices = invoices.filter(session__start_at__gte=since)
    if data.get("end"):
        until = local_midnight(data["end"] + timedelta(days=1), zone)
        payments = payments.filter(session__start_at__lt=until)
        invoices = invoices.filter(session__start_at__lt=until)
    return payments, invoices


def _totals(payments) -> list[dict]:
    """Per currency, in one query: what was asked, paid, refunded and is still due."""
    paid = Q(paid_at__isnull=False)
    rows = (
        payments.order_by()
        .values("currency")
        .annotate(
            asked=Sum("amount"),
            paid=Sum("amount", filter=paid),
            refunded=Sum("refunded_amount"),
            due=Sum("amount", filter=Q(status=Payment.Status.DUE)),
        )
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"].upper(),
            **{key: decimal_of(row[key] or 0) for key in ("asked", "paid", "refunded", "due")},
            "net": decimal_of((row["paid"] or 0) - (row["refunded"] or 0)),
        }
        for row in rows
    ]


def _filter_form(request) -> PaymentFilterForm:
    return PaymentFilterForm(request.GET, hosts=hosts_actor_may_act_for(actor=request.user))


@billing_manager_required
def payment_list(request):
    if refused := refuse_method(request, "GET"):
        return refused
    form = _filter_form(request)
    if form.is_valid():
        payments, invoices = _filtered(request, form)
    else:
        payments, invoices = Payment.objects.none(), Invoice.objects.none()
    payments_page = Paginator(
        payments.select_related("session__host", "participant", "service").prefetch_related("refunds"),
        PAYMENTS_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    invoices_page = Paginator(
        invoices.select_related("session__host", "participant"), PAYMENTS_PAGE_SIZE
    ).get_page(request.GET.get("invoices_page"))
    filters = request.GET.copy()
    for key in ("page", "invoices_page"):
        filters.pop(key, None)
    return render(
        request,
        "billing/payment_list.html",
        {
            "form": form,
            "payments": payments_page,
            "invoices": invoices_page,
            "totals": _totals(payments),
            "payments_enabled": payments_enabled(),
            "csv_url": f"{reverse('billing:payments_csv')}?{filters.urlencode()}",
            "zone_name": request.user.time_zone,
        },
    )


CSV_HEADER = [
    "Kind",
    "Session date",
    "Session",
    "Host",
    "Participant",
    "Amount",
    "Currency",
    "Status",
    "Refunded",
    "Paid at",
    "Due date",
    "Stripe id",
]


def _payment_row(payment: Payment, zone_name: str) -> list[str]:
    return [
        "Payment",
        f"{in_zone(payment.session.start_at, zone_name):%Y-%m-%d %H:%M}",
        payment.session.title,
        payment.session.host.full_name,
        payment.participant.name if payment.participant else "",
        str(decimal_of(payment.amount)),
        payment.currency.upper(),
        payment.get_status_display(),
        str(decimal_of(payment.refunded_amount)),
        f"{in_zone(payment.paid_at, zone_name):%Y-%m-%d %H:%M}" if payment.paid_at else "",
        "",
        payment.payment_intent_id,
    ]


def _invoice_row(invoice: Invoice, zone_name: str) -> list[str]:
    return [
        "Invoice",
        f"{in_zone(invoice.session.start_at, zone_name):%Y-%m-%d %H:%M}",
        invoice.session.title,
        invoice.session.host.full_name,
        invoice.participant.name if invoice.participant else "",
        str(decimal_of(invoice.amount)),
        invoice.currency.upper(),
        invoice.get_status_display(),
        "",
        "",
        f"{invoice.due_date:%Y-%m-%d}",
        invoice.stripe_invoice_id,
    ]


@billing_manager_required
def payments_csv(request):
    if refused := refuse_method(request, "GET"):
        return refused
    form = _filter_form(request)
    if not form.is_valid():
        return HttpResponseBadRequest("The filters are not valid; correct them on the Payments page.")
    zone_name = request.user.time_zone
    payments, invoices = _filtered(request, form)
    rows = chain(
        [CSV_HEADER],
        (
            _payment_row(p, zone_name)
            for p in payments.select_related("session__host", "participant").iterator(chunk_size=500)
        ),
        (
            _invoice_row(i, zone_name)
            for i in invoices.select_related("session__host", "participant").iterator(chunk_size=500)
        ),
    )
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    today = timezone.now().astimezone(request.user.zone).date()
    organization = request.user.organization
    response["Content-Disposition"] = (
        f'attachment; filename="payments-{organization.slug or organization.pk}-{today:%Y-%m-%d}.csv"'
    )
    return response
