import secrets
import uuid
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Organization
from accounts.timezones import TIME_ZONE_CHOICES
from contacts.models import Contact, InviteMethod


def new_room_name() -> str:
    # The room name is the only thing standing between a stranger and the video room, so it carries
    # 128 random bits, like a join link.
    return f"session-{secrets.token_hex(16)}"


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REMOVED = "removed", "Removed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sessions")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_sessions"
    )
    title = models.CharField(max_length=200)
    start_at = models.DateTimeField(help_text="Start, stored in UTC.")
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)], default=50
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    room_name = models.CharField(max_length=64, default=new_room_name, unique=True, editable=False)
    # Bumped on every change participants' calendars must pick up (RFC 5545 SEQUENCE).
    calendar_sequence = models.PositiveIntegerField(default=0)
    host_connected_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "id"]
        indexes = [
            models.Index(fields=["host", "start_at"]),
            models.Index(fields=["organization", "start_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def end_at(self):
        return self.start_at + timedelta(minutes=self.duration_minutes)

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.SCHEDULED, self.Status.LIVE)


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
    # The join link is derived from these two (sessions_app.join_links); bumping the version revokes it.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    link_version = models.PositiveIntegerField(default=1)
    joined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def address(self) -> str:
        """Where this participant's notices go on their chosen method."""
        if self.invite_method == InviteMethod.EMAIL:
            return self.email
        if self.invite_method in (InviteMethod.SMS, InviteMethod.WHATSAPP):
            return str(self.phone) if self.phone else ""
        return ""
