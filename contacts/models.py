from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Organization
from accounts.timezones import TIME_ZONE_CHOICES


class InviteMethod(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    NONE = "none", "System should not send invite"


class Contact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    preferred_method = models.CharField(
        max_length=16, choices=InviteMethod.choices, default=InviteMethod.EMAIL
    )
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    note = models.TextField(blank=True)
    # Set when the person texted STOP: no SMS goes to them until they opt back in.
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name
