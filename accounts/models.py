import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from accounts.timezones import TIME_ZONE_CHOICES


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def membership(self) -> "Membership | None":
        # One organisation per account; cached on the instance because every request asks.
        if not hasattr(self, "_membership"):
            self._membership = Membership.objects.select_related("organization").filter(user=self).first()
        return self._membership

    @property
    def organization(self) -> "Organization | None":
        return self.membership.organization if self.membership else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def is_host(self) -> bool:
        """Has sessions of their own: every host, and an admin who also hosts."""
        return self.membership is not None and self.membership.hosts_sessions

    @property
    def is_scheduler(self) -> bool:
        """Books for the organisation's hosts: schedulers and admins."""
        return self.role in (Membership.Role.SCHEDULER, Membership.Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        """Runs the organisation: its team, settings and audit log."""
        return self.role == Membership.Role.ADMIN


def default_reminder_lead_minutes() -> list[int]:
    return [24 * 60, 60]


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    # The organisation's settings (accounts.services.organization_settings_update).
    default_participant_time_zone = models.CharField(
        max_length=64, choices=TIME_ZONE_CHOICES, default="Europe/London"
    )
    default_reminder_lead_minutes = models.JSONField(default=default_reminder_lead_minutes)
    sender_name = models.CharField(max_length=100, blank=True)
    cancellation_window_hours = models.PositiveIntegerField(default=24)
    # When a session's only participant cancels through their link or a text reply: True cancels the
    # session (with its notices); False takes the participant off and keeps the session in the diary.
    participant_cancel_cancels_session = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        HOST = "host", "Host"
        SCHEDULER = "scheduler", "Scheduler"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Hosting is a capability: every host has it, and an admin may have it too.
    admin_hosts = models.BooleanField(default=False)
    # A scheduler books for every host of the organisation unless an admin gave them chosen hosts.
    books_for_all_hosts = models.BooleanField(default=True)
    bookable_hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.organization}"

    @property
    def hosts_sessions(self) -> bool:
        return self.role == self.Role.HOST or (self.role == self.Role.ADMIN and self.admin_hosts)

    @property
    def books_for_chosen_hosts(self) -> bool:
        """A scheduler an admin limited to some hosts (admins always book for every host)."""
        return self.role == self.Role.SCHEDULER and not self.books_for_all_hosts

    @property
    def role_label(self) -> str:
        return (
            "Admin and host" if self.role == self.Role.ADMIN and self.admin_hosts else self.get_role_display()
        )


class Invitation(models.Model):
    """An invitation to join an organisation: the link carries a random token of which only the hash is
    kept; it works once, for 7 days, until revoked or re-sent (accounts.services.invitation_*)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    admin_hosts = models.BooleanField(default=False)
    books_for_all_hosts = models.BooleanField(default=True)
    bookable_hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # The link's token is derived from this nonce with the secret key (accounts.tokens) when the email is
    # written; the table keeps the nonce and the token's hash only, so a copy of the database opens nothing.
    nonce = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditEvent(models.Model):
    """One change made in the product: who did it, for which host, to what, and how."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acting_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id} by {self.actor}"
