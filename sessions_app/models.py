import secrets
import uuid
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Organization
from accounts.timezones import TIME_ZONE_CHOICES
from contacts.models import Contact, InviteMethod


def new_video_room_name() -> str:
    # The room name is the only thing standing between a stranger and the video room, so it carries
    # 128 random bits, like a join link.
    return f"session-{secrets.token_hex(16)}"


class Room(models.Model):
    """One of the organisation's venues or standing video rooms; a room holds one session at a time."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return self.name


class Series(models.Model):
    """Sessions scheduled together by a repeat rule; each occurrence is an ordinary Session."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Every week"
        BIWEEKLY = "biweekly", "Every 2 weeks"
        MONTHLY = "monthly", "Every month"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="series")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} with {self.host}"


class WorkingHours(models.Model):
    """One range of a host's weekly working hours, in the host's own time zone."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="working_hours_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class BlockedSlot(models.Model):
    """A one-off time the host is not available (leave, a conference), with a note for schedulers."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_slots")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_at__gt=models.F("start_at")), name="blocked_slot_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.note or "Blocked"


# Cancel is offered until 5 minutes after the start; after that the session can only be removed (no notice).
CANCEL_GRACE = timedelta(minutes=5)
# The host can connect (and the session becomes live) from this long before the start until the end.
CONNECT_LEAD = timedelta(minutes=15)


class Outcome(models.TextChoices):
    """How a session ended, as the history shows and filters it."""

    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REMOVED = "removed", "Removed"
    NO_SHOW = "no_show", "No-show"
    # Cancelled because its only participant cancelled through their link or a text reply
    # (sessions_app.services.participant_answers).
    CANCELLED_BY_PARTICIPANT = "cancelled_by_participant", "Cancelled by participant"


class SessionQuerySet(models.QuerySet):
    def open(self, at: datetime | None = None) -> "SessionQuerySet":
        """Sessions that still take their time: scheduled or live, and not yet ended."""
        return self.filter(status__in=Session.OPEN_STATUSES, end_at__gt=at or timezone.now())

    def ended(self, at: datetime | None = None) -> "SessionQuerySet":
        """The history's past sessions: those that have ended, and those cancelled or removed whose start has
        passed. One called off for a time still ahead is not past yet (see `called_off_ahead`)."""
        at = at or timezone.now()
        return self.filter(
            models.Q(end_at__lte=at) | models.Q(status__in=Session.CLOSED_STATUSES, start_at__lte=at)
        )

    def called_off_ahead(self, at: datetime | None = None) -> "SessionQuerySet":
        """Sessions cancelled or removed whose start is still ahead: the gaps in the coming schedule."""
        return self.filter(status__in=Session.CLOSED_STATUSES, start_at__gt=at or timezone.now())

    def with_outcome(self, at: datetime | None = None) -> "SessionQuerySet":
        """Each session with `outcome_value` (an Outcome value), worked out in the database so the history
        can filter on it; the same order of precedence as Session.outcome."""
        return self.annotate(
            outcome_value=models.Case(
                models.When(
                    status=Session.Status.CANCELLED,
                    cancelled_by_participant=True,
                    then=models.Value(Outcome.CANCELLED_BY_PARTICIPANT.value),
                ),
                models.When(status=Session.Status.CANCELLED, then=models.Value(Outcome.CANCELLED.value)),
                models.When(status=Session.Status.REMOVED, then=models.Value(Outcome.REMOVED.value)),
                models.When(no_show=True, then=models.Value(Outcome.NO_SHOW.value)),
                models.When(end_at__lte=at or timezone.now(), then=models.Value(Outcome.COMPLETED.value)),
                default=models.F("status"),
                output_field=models.CharField(),
            )
        )


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REMOVED = "removed", "Removed"

    # Open sessions hold their host's and room's time (the exclusion constraints of migration 0002 name the
    # same two); closed ones can no longer change at all.
    OPEN_STATUSES = (Status.SCHEDULED, Status.LIVE)
    CLOSED_STATUSES = (Status.CANCELLED, Status.REMOVED)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sessions")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_sessions"
    )
    title = models.CharField(max_length=200)
    start_at = models.DateTimeField(help_text="Start, stored in UTC.")
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)], default=50
    )
    # Stored beside the duration because overlap checks and PostgreSQL's exclusion constraints need the
    # end as a column; services set both together.
    end_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    # The whole session was a no-show (nobody came); single participants are marked on Participant.
    no_show = models.BooleanField(default=False)
    cancel_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The participant called it off themselves (their only participant cancelled), not the host.
    cancelled_by_participant = models.BooleanField(default=False)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    video_room_name = models.CharField(
        max_length=64, default=new_video_room_name, unique=True, editable=False
    )
    # Bumped on every change participants' calendars must pick up (RFC 5545 SEQUENCE).
    calendar_sequence = models.PositiveIntegerField(default=0)
    host_connected_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["start_at", "id"]
        indexes = [
            models.Index(fields=["host", "start_at"]),
            models.Index(fields=["organization", "start_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def state(self) -> "Session.Status":
        """The status as it is now: a scheduled or live session whose end has passed is completed, even in
        the moments before sessions_complete_ended writes it down."""
        if self.status in self.OPEN_STATUSES and self.end_at <= timezone.now():
            return self.Status.COMPLETED
        return self.Status(self.status)

    @property
    def is_open(self) -> bool:
        """Scheduled or live and not yet ended: the session can still be moved, cancelled or joined."""
        return self.state in self.OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        """Cancelled or removed: nothing about the session changes any more."""
        return self.status in self.CLOSED_STATUSES

    @property
    def outcome(self) -> str:
        """What the history shows: cancelled, removed, no-show or completed (or the state while it runs)."""
        if self.is_closed:
            if self.status == self.Status.CANCELLED and self.cancelled_by_participant:
                return Outcome.CANCELLED_BY_PARTICIPANT.label
            return self.get_status_display()
        if self.no_show:
            return Outcome.NO_SHOW.label
        return self.state.label

    @property
    def join_opens_at(self) -> datetime:
        """When the participants' join links open: JOIN_OPENS_BEFORE the start."""
        return self.start_at - settings.JOIN_OPENS_BEFORE

    @property
    def connect_opens_at(self) -> datetime:
        return self.start_at - CONNECT_LEAD

    def connect_open(self, at: datetime | None = None) -> bool:
        """The host may connect now: from CONNECT_LEAD before the start until the end."""
        return self.is_open and (at or timezone.now()) >= self.connect_opens_at

    def cancel_offered(self, at: datetime | None = None) -> bool:
        """Cancel until 5 minutes after the start; after that the session can only be removed."""
        return (at or timezone.now()) <= self.start_at + CANCEL_GRACE

    @property
    def shown_changes_at(self) -> tuple[datetime, ...]:
        """The moments a page showing this session changes by the clock alone: the participants' window
        opens, Connect opens, it starts, Cancel gives way to Remove, it ends."""
        return (
            self.join_opens_at,
            self.connect_opens_at,
            self.start_at,
            self.start_at + CANCEL_GRACE,
            self.end_at,
        )

    @staticmethod
    def next_shown_change(sessions, now: datetime | None = None) -> datetime | None:
        """The first moment after now at which one of these sessions is shown differently."""
        now = now or timezone.now()
        return min((at for session in sessions for at in session.shown_changes_at if at > now), default=None)


class DocumentsShown(models.TextChoices):
    ALL = "all", "All documents"
    NONE = "none", "No documents"
    PACKET = "packet", "A packet"


class Answer(models.TextChoices):
    """What a participant answered through their join link or a text reply (participant_answers)."""

    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled by participant"
    ASKED_TIME = "asked_time", "Asked for another time"


class ParticipantQuerySet(models.QuerySet):
    def active(self) -> "ParticipantQuerySet":
        """Participants still on their session: a removed participant keeps their row for the history."""
        return self.filter(removed_at__isnull=True)


class Participant(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="participants")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="participations"
    )
    name = models.CharField(max_length=150, validators=[MinLengthValidator(2)])
    invite_method = models.CharField(max_length=16, choices=InviteMethod.choices, default=InviteMethod.EMAIL)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    # The join link is derived from these two (sessions_app.join.links); bumping the version revokes it.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    link_version = models.PositiveIntegerField(default=1)
    joined_at = models.DateTimeField(null=True, blank=True)
    no_show = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    # Which of the organisation's documents this participant is asked to fill on their way in.
    documents_shown = models.CharField(
        max_length=16, choices=DocumentsShown.choices, default=DocumentsShown.ALL
    )
    documents_packet = models.ForeignKey(
        "documents.Packet", null=True, blank=True, on_delete=models.SET_NULL, related_name="participants"
    )
    # The waiting room: since when they wait for the host, and when the host let them in. Once admitted they
    # come back in directly (a dropped connection).
    waiting_since = models.DateTimeField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    # Their latest answer, with the reason or message that came with it. The audit log keeps every answer;
    # the pages need only the latest, and reading it from the row costs the dashboard no query.
    answer = models.CharField(max_length=16, choices=Answer.choices, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_message = models.TextField(blank=True)
    # The session's calendar_sequence the answer was given for: a confirmation, or a request for another
    # time, is about the time the participant saw, so a reschedule (which raises the sequence) settles the
    # request and leaves the confirmation to be given again.
    answer_sequence = models.PositiveIntegerField(default=0)
    # When the host marked a request for another time as dealt with ("Done") without moving the session.
    answer_handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The History counts the answers of a host's past sessions on every load; most participants
            # never answer, so the index holds only those who did.
            models.Index(fields=["session"], condition=~models.Q(answer=""), name="participant_answered"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def current_answer(self) -> str:
        """The answer that still stands, for the badges: a cancellation always does; a confirmation or a
        request for another time only for the session's time as it was answered, and a request only until
        the host dealt with it. Reads the session from the row's cache (the selectors load it)."""
        if self.answer == Answer.CANCELLED:
            return self.answer
        if not self.answer or self.answer_sequence != self.session.calendar_sequence:
            return ""
        if self.answer == Answer.ASKED_TIME and self.answer_handled_at is not None:
            return ""
        return self.answer

    @property
    def address(self) -> str:
        """Where this participant's notices go on their chosen method."""
        if self.invite_method == InviteMethod.EMAIL:
            return self.email
        if self.invite_method in (InviteMethod.SMS, InviteMethod.WHATSAPP):
            return str(self.phone) if self.phone else ""
        return ""


class CalendarFeed(models.Model):
    """A host's private calendar subscription (issue 13): the address's token is shown once and only its
    SHA-256 is kept, so the row finds the host without the database holding a working address. Turning
    the subscription off deletes the row; regenerating replaces the hash, and the old address is a 404."""

    host = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.host}"


class CalendarSource(models.Model):
    """The secret iCal address of a host's own calendar (Google, Outlook, Apple), read every few minutes by
    a worker; its events count as busy times. The address is a bearer secret of the host's: never shown
    back in full, never logged."""

    host = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_source"
    )
    url = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # When a worker should read it next; a worker that takes it pushes this past its lease first.
    next_fetch_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Counts the workers' claims, so that only the current claim's holder records what it read.
    fetch_attempt = models.PositiveIntegerField(default=0)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Calendar of {self.host}"


class ExternalBusyTime(models.Model):
    """A time the host's own calendar says they are busy: overlapping events merged, no title kept."""

    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="busy_times")
    # The host again, so the availability check reads these with one range query beside blocked times.
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()

    class Meta:
        ordering = ["start_at"]
        indexes = [models.Index(fields=["host", "start_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_at__gt=models.F("start_at")), name="external_busy_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return "Busy (your calendar)"
