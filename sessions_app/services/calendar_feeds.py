"""A host's private calendar subscription (issue 13): an address with a 256-bit random token that Google
Calendar, Outlook and Apple Calendar read every few minutes, serving the host's sessions.

The token is a bearer secret, like a join link, but unlike one it is not derived: only its SHA-256 is kept
(accounts.tokens.token_hash), so it can be shown once, when it is made, and never again. Regenerating makes
the old address a 404 at once; turning the subscription off deletes the row."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from accounts.tokens import token_hash
from config.errors import PermissionDeniedError
from sessions_app.models import CalendarFeed, Session

# The feed reaches this far back, and forward without limit.
FEED_PAST = timedelta(days=30)


def check_host_self(actor: User) -> None:
    # The feed is the actor's own diary: nobody subscribes on a host's behalf, a scheduler included.
    if not actor.is_authenticated or not actor.is_active or not actor.is_host:
        raise PermissionDeniedError("Only hosts connect their calendars.")


def feed_path(token: str) -> str:
    return reverse("sessions:calendar_feed", kwargs={"token": token})


@transaction.atomic
def calendar_feed_create(*, actor: User) -> tuple[CalendarFeed, str]:
    """A new subscription address for the actor, replacing any they had. Returns the token, which exists
    nowhere else from now on: the page shows it once."""
    check_host_self(actor)
    token = secrets.token_urlsafe(32)
    replaced = CalendarFeed.objects.select_for_update().filter(host=actor).first()
    feed = replaced or CalendarFeed(host=actor)
    feed.token_hash = token_hash(token)
    feed.created_at = timezone.now()
    feed.save()
    audit_record(
        actor=actor,
        action=AuditAction.CALENDAR_FEED_CREATE,
        obj=feed,
        acting_for=actor,
        organization_id=actor.membership.organization_id,
        regenerated=replaced is not None,
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, actor: User) -> None:
    """Turn the subscription off: its address answers 404 from now on."""
    check_host_self(actor)
    feed = CalendarFeed.objects.select_for_update().filter(host=actor).first()
    if feed is None:
        return
    audit_record(
        actor=actor,
        action=AuditAction.CALENDAR_FEED_REVOKE,
        obj=feed,
        acting_for=actor,
        organization_id=actor.membership.organization_id,
    )
    feed.delete()


# Reads of the feed itself, by the calendar program that holds the address (no login).


def calendar_feed_host(*, token: str) -> User | None:
    """The active host whose subscription this token opens; None for an unknown, replaced or revoked token,
    and for an account that was deactivated."""
    feed = (
        CalendarFeed.objects.select_related("host")
        .filter(token_hash=token_hash(token), host__is_active=True)
        .first()
    )
    return feed.host if feed else None


def calendar_feed_sessions(*, host: User) -> QuerySet[Session]:
    """The host's sessions from FEED_PAST ago and every one to come, with how many people are on each, in
    one query whatever their number. Cancelled and removed ones too: the feed says they are off."""
    return (
        Session.objects.filter(host=host, end_at__gt=timezone.now() - FEED_PAST)
        .annotate(participant_count=Count("participants", filter=Q(participants__removed_at__isnull=True)))
        .order_by("start_at", "id")
    )
