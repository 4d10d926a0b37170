import zoneinfo
from datetime import UTC, datetime, timedelta

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from accounts.timezones import TIME_ZONE_CHOICES
from contacts.models import InviteMethod
from sessions_app.services import ParticipantDetails

DURATION_CHOICES = [(m, f"{m} minutes") for m in (15, 20, 30, 45, 50, 60, 75, 90, 120)]


def local_to_utc(day, time, zone_name: str) -> datetime:
    """A wall-clock date and time in a zone, as a UTC instant. Raises ValidationError for a time that does
    not exist there (skipped by a daylight-saving change)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    local = datetime.combine(day, time).replace(tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise forms.ValidationError(
            f"{time:%H:%M} does not exist on {day:%d %B %Y} in {zone_name}: the clocks change then. "
            "Choose another time."
        )
    return instant


class SessionScheduleForm(forms.Form):
    title = forms.CharField(max_length=200, initial="Consultation")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_minutes = forms.TypedChoiceField(
        label="Duration", choices=DURATION_CHOICES, coerce=int, initial=50
    )

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host
        self.fields["time"].help_text = f"In {host.time_zone.replace('_', ' ')}, the host's time zone."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "title",
            Row(Column("date"), Column("time"), Column("duration_minutes")),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time"):
            try:
                cleaned["start_at"] = local_to_utc(cleaned["date"], cleaned["time"], self.host.time_zone)
            except forms.ValidationError as error:
                self.add_error("time", error)
                return cleaned
            end = cleaned["start_at"] + timedelta(minutes=cleaned.get("duration_minutes") or 0)
            if end <= datetime.now(UTC):
                self.add_error("time", "That time has already passed. Choose a time in the future.")
        return cleaned


class ParticipantForm(forms.Form):
    name = forms.CharField(label="Name or initials", min_length=2, max_length=150)
    invite_method = forms.ChoiceField(
        label="Session invite and reminders", choices=InviteMethod.choices, initial=InviteMethod.EMAIL
    )
    email = forms.EmailField(required=False)
    phone = PhoneNumberField(
        label="Mobile number",
        required=False,
        help_text="International format, e.g. +44 7911 123456.",
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+44 7911 123456"}),
    )
    time_zone = forms.ChoiceField(label="Time zone", choices=TIME_ZONE_CHOICES)

    def __init__(self, *args, default_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].initial = default_zone

    def clean(self):
        cleaned = super().clean()
        method = cleaned.get("invite_method")
        if method == InviteMethod.EMAIL and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", "Enter an email address to send the invite to.")
        wants_phone = method in (InviteMethod.SMS, InviteMethod.WHATSAPP)
        if wants_phone and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Enter a mobile number to send the invite to.")
        return cleaned

    def details(self) -> ParticipantDetails:
        data = self.cleaned_data
        return ParticipantDetails(
            name=data["name"],
            invite_method=data["invite_method"],
            email=data.get("email") or "",
            phone=str(data["phone"]) if data.get("phone") else "",
            time_zone=data["time_zone"],
        )


class BaseParticipantFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        filled = [form for form in self.forms if form.has_changed() and not self._should_delete_form(form)]
        if not filled:
            raise forms.ValidationError("Add at least one participant.")


ParticipantFormSet = forms.formset_factory(
    ParticipantForm,
    formset=BaseParticipantFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=20,
    validate_max=True,
    can_delete=True,
)
