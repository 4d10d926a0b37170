from django.db import models
from django.utils import timezone

from accounts.models import Organization
from sessions_app.models import Participant, Session


class Notification(models.Model):
    """One notice to one recipient on one channel: the outbox row (DESIGN.md rule 2)."""

    class Kind(models.TextChoices):
        INVITE = "invite", "Invite"
        REMINDER = "reminder", "Reminder"
        RESCHEDULE = "reschedule", "Reschedule"
        CANCELLATION = "cancellation", "Cancellation"
        REMOVED = "participant_removed", "Participant removed"
        END_CHANGED = "end_changed", "End time changed"
        REASSIGNED = "host_reassigned", "Host reassigned"
        REMIND = "remind", "Manual reminder"
        # To the host, about what a participant answered through their link or a text reply.
        PARTICIPANT_CANCELLED = "participant_cancelled", "Participant cancelled"
        PARTICIPANT_ASKED_TIME = "participant_asked_time", "Participant asked for another time"
        PARTICIPANT_MESSAGE = "participant_message", "Message from a participant"
        # Notices about an account rather than a session: no session, no participant.
        TEAM_INVITE = "team_invite", "Team invitation"
        EMAIL_CONFIRM = "email_confirm", "Email address confirmation"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Not sent because it no longer applied: the session changed or ended, the participant was removed.
        WITHDRAWN = "withdrawn", "Withdrawn"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    # A notice addressed to a host (a reassignment) rather than a participant.
    host = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # What the notice is about beyond the session's current state: the old time and reason of a reschedule,
    # the dates of a series. Rendered at delivery, so it must be plain JSON.
    context = models.JSONField(default=dict, blank=True)
    # When the row is next due: first the planned time, later the time of the next retry.
    send_at = models.DateTimeField(default=timezone.now)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the row was last handed to the broker, so the sweep does not queue the same due row again and
    # again while workers are busy with a backlog.
    handed_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    # What the provider said after accepting it (delivered, undelivered, bounced, complained...).
    provider_status = models.CharField(max_length=32, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What was sent, kept for the notices log and the development outbox.
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep asks only for due pending rows; a partial index keeps that query independent of how
            # many future reminders and delivered rows the table holds.
            models.Index(
                fields=["send_at"], name="notification_due_idx", condition=models.Q(status="pending")
            ),
            models.Index(
                fields=["claimed_at"], name="notification_sending_idx", condition=models.Q(status="sending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.recipient}"


def default_reminder_leads() -> list[int]:
    return [24 * 60, 60]


class HostNoticeSettings(models.Model):
    """A host's reminder lead times, in minutes before the start (default 24 hours and 1 hour)."""

    host = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="notice_settings")
    reminder_lead_minutes = models.JSONField(default=default_reminder_leads)

    def __str__(self) -> str:
        return f"Reminders for {self.host}"


class SweepHeartbeat(models.Model):
    """When the periodic sweep of due notices last ran (one row, pk 1), kept in the database so /healthz in
    any web process can tell that beat and the workers still sweep: otherwise reminders and retries stop
    going out and nothing says so."""

    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Last sweep at {self.at:%Y-%m-%d %H:%M:%S}"


class TwilioCallback(models.Model):
    """A Twilio callback already acted on: an inbound message by its MessageSid, a status report by its
    MessageSid and MessageStatus. Twilio's signature covers the URL and the parameters but carries no time,
    so a captured request stays valid for ever: without this record a START replayed after a STOP would
    opt the person back in. The unique constraint, not a prior lookup, decides which of two racing
    deliveries of the same callback acts."""

    message_sid = models.CharField(max_length=64)
    # Empty for an inbound message.
    message_status = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message_sid", "message_status"], name="twilio_callback_once"),
        ]

    def __str__(self) -> str:
        return f"{self.message_sid} {self.message_status}".strip()
