"""Reads of billing, each scoped to the actor where a person asks (DESIGN.md rule 4)."""

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Organization, User
from billing.models import Invoice, Payment, Service, StripeConnection
from sessions_app.models import Participant
from sessions_app.selectors import sessions_visible_to


def payments_enabled() -> bool:
    """Whether this site takes payments at all: without Stripe's secret key nothing is charged, and the pages
    say so where a payment would be asked (DESIGN.md rule 6)."""
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_connection_of(organization: Organization) -> StripeConnection | None:
    return StripeConnection.objects.filter(organization=organization).first()


def services_of(organization: Organization, *, active_only: bool = False) -> QuerySet[Service]:
    services = Service.objects.filter(organization=organization)
    return services.filter(is_active=True) if active_only else services


def payments_visible_to(actor: User) -> QuerySet[Payment]:
    """The payments of the sessions the actor may see: a host's own, a scheduler's hosts'."""
    return Payment.objects.filter(session__in=sessions_visible_to(actor)).select_related(
        "session", "participant", "service"
    )


def invoices_visible_to(actor: User) -> QuerySet[Invoice]:
    return Invoice.objects.filter(session__in=sessions_visible_to(actor)).select_related(
        "session", "participant"
    )


def payment_for(participant: Participant) -> Payment | None:
    """What this participant is asked to pay, or None when nothing was ever asked."""
    return Payment.objects.filter(participant=participant).first()


def payment_due(participant: Participant) -> Payment | None:
    """The payment a participant still owes, or None. Every page of the way in past the pay step (documents,
    waiting room, room) asks this first, so none is reached while it is due."""
    return Payment.objects.filter(participant=participant, status=Payment.Status.DUE).first()
