import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Layout, Row
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from accounts.timezones import TIME_ZONE_CHOICES
from billing.forms import add_payment_fields, clean_payment_fields, payment_ask_of
from billing.models import Service
from contacts.models import InviteMethod
from documents.selectors import packets_offered
from notifications.channels import text_channels_available
from sessions_app.forms.fields import WindowDateField, host_zone_help
from sessions_app.models import DocumentsShown, Participant, Room, Series
from sessions_app.recurrence import MAX_OCCURRENCES, series_length_until
from sessions_app.services import ParticipantDetails, RepeatRule
from sessions_app.services.common import session_date_window
from sessions_app.timefmt import in_zone, local_to_utc

DURATION_CHOICES = [(m, f"{m} minutes") for m in (15, 20, 30, 45, 50, 60, 75, 90, 120)]
REPEAT_CHOICES = [("", "Does not repeat"), *Series.Frequency.choices]
REPEAT_ENDS_CHOICES = [("count", "After a number of sessions"), ("until", "On a date")]
# The time offered when the calendar's month view asks for a day without a time.
DAY_DEFAULT_TIME = time(9)
# The fields the live availability answer is about (and sent to sessions:schedule_availability).
AVAILABILITY_FIELDS = ("date", "time", "duration_minutes", "room")


class SessionScheduleForm(forms.Form):
    title = forms.CharField(max_length=200, initial="Consultation")
    # ISO whatever the locale, as a date input takes it (a calendar link fills it in).
    date = WindowDateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    duration_minutes = forms.TypedChoiceField(
        label="Duration", choices=DURATION_CHOICES, coerce=int, initial=50
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.none(),
        required=False,
        empty_label="No room",
        help_text="A room holds one session at a time.",
    )
    repeat = forms.ChoiceField(choices=REPEAT_CHOICES, required=False)
    repeat_ends = forms.ChoiceField(
        label="Ends", choices=REPEAT_ENDS_CHOICES, initial="count", required=False, widget=forms.RadioSelect
    )
    repeat_count = forms.IntegerField(
        label="Number of sessions",
        required=False,
        min_value=2,
        max_value=MAX_OCCURRENCES,
        help_text=f"Including the first; at most {MAX_OCCURRENCES}.",
        error_messages={
            "min_value": "A series has at least 2 sessions.",
            "max_value": f"A series can have at most {MAX_OCCURRENCES} sessions.",
        },
    )
    repeat_until = WindowDateField(label="Last date", required=False)

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host
        # The proposed (start, end) in UTC once date, time and duration are clean, so the availability
        # answer can be given while other fields (a participant, the title) still have errors.
        self.window: tuple[datetime, datetime] | None = None
        self.fields["time"].help_text = host_zone_help(host.time_zone)
        rooms = Room.objects.filter(organization=host.organization, is_active=True).order_by("name")
        has_rooms = rooms.exists()
        if has_rooms:
            self.fields["room"].queryset = rooms
        else:
            del self.fields["room"]
        for name in AVAILABILITY_FIELDS:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] = "availability-input"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        # A field's errors one per line (crispy's default runs them together): a refused booking can
        # give several reasons.
        self.helper.error_text_inline = False
        # The repeat details are shown only once a repeat is chosen (static/js/schedule_repeat.js); without
        # the script they simply stay visible.
        self.helper.layout = Layout(
            "title",
            Row(Column("date"), Column("time"), Column("duration_minutes")),
            *(["room"] if has_rooms else []),
            # The live answer (Slot available / Host is not available ...) under the fields it is about;
            # the page's context says where to ask (availability_url) and what it answered last (check).
            HTML('{% include "sessions_app/actions/_availability_box.html" %}'),
            Row(
                Column("repeat", css_class="col-md-4"),
                Column(InlineRadios("repeat_ends"), css_class="col-md-4"),
                Column("repeat_count", "repeat_until", css_class="col-md-4"),
            ),
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
            if cleaned.get("duration_minutes"):
                self.window = (cleaned["start_at"], end)
            if end <= datetime.now(UTC):
                self.add_error("time", "That time has already passed. Choose a time in the future.")
        cleaned["repeat_rule"] = self._repeat_rule(cleaned)
        return cleaned

    def time_errors(self) -> list[str]:
        """The errors of the fields the availability answer is about."""
        return [str(e) for name in AVAILABILITY_FIELDS for e in self.errors.get(name, [])]

    @staticmethod
    def initial_from_calendar(query, *, viewer_zone: str, host_zone: str) -> dict:
        """The date and time a calendar link asks for (`?date=YYYY-MM-DD&time=HH:MM`, on the viewer's
        clock, as the calendar shows it) as the form's initial values on the host's clock, the zone the form
        is typed in: the same instant. A date without a time keeps that date at DAY_DEFAULT_TIME. Anything
        that is not a date and time a session could start at is ignored: the form simply starts empty."""
        try:
            day = date.fromisoformat(query.get("date") or "")
        except ValueError:
            return {}
        first, last = session_date_window()
        # Far dates are dropped before any zone arithmetic on them could overflow.
        if not first <= day <= last:
            return {}
        try:
            wall = time.fromisoformat(query.get("time") or "")
        except ValueError:
            return {"date": day, "time": DAY_DEFAULT_TIME}
        try:
            start = local_to_utc(day, wall.replace(second=0, microsecond=0, tzinfo=None), viewer_zone)
        except forms.ValidationError:
            # A wall-clock time the viewer's clocks skip that night: the day is still what was asked for.
            return {"date": day}
        local = in_zone(start, host_zone)
        return {"date": local.date(), "time": local.time()}

    def _repeat_rule(self, cleaned) -> RepeatRule | None:
        frequency = cleaned.get("repeat")
        if not frequency:
            return None
        if cleaned.get("repeat_ends") == "until":
            until, first = cleaned.get("repeat_until"), cleaned.get("date")
            if until is None:
                if "repeat_until" not in self.errors:
                    self.add_error("repeat_until", "Choose the date of the last session.")
                return None
            if first is None:
                return None
            if until <= first:
                self.add_error("repeat_until", "The last date must be after the first session's date.")
                return None
            if series_length_until(first, frequency, until) > MAX_OCCURRENCES:
                self.add_error(
                    "repeat_until",
                    f"That makes more than {MAX_OCCURRENCES} sessions, the most a series can have. "
                    "Choose an earlier date.",
                )
                return None
            return RepeatRule(frequency=frequency, until=until)
        count = cleaned.get("repeat_count")
        if count is None:
            if "repeat_count" not in self.errors:
                self.add_error(
                    "repeat_count", f"Say how many sessions the series has (2 to {MAX_OCCURRENCES})."
                )
            return None
        return RepeatRule(frequency=frequency, count=count)


def invite_method_choices() -> list[tuple[str, str]]:
    """SMS and WhatsApp are offered only where this site can send them; read on every form, not at import."""
    unavailable = {InviteMethod.SMS, InviteMethod.WHATSAPP} - text_channels_available()
    return [(value, label) for value, label in InviteMethod.choices if value not in unavailable]


PACKET_CHOICE = "packet:"


def documents_choices(*, organization_id: int) -> list[tuple[str, str]]:
    """The "Show participant documents" options: all, none, or one of the organisation's packets. Empty
    while the organisation has no active document, and then the question is not asked. Read once per page,
    not per participant row."""
    packets = packets_offered(organization_id=organization_id)
    if packets is None:
        return []
    return [
        (DocumentsShown.ALL.value, "All documents"),
        (DocumentsShown.NONE.value, "No documents"),
        *((f"{PACKET_CHOICE}{packet.pk}", f"Packet: {packet.name}") for packet in packets),
    ]


def documents_choice_of(participant: Participant) -> str:
    if participant.documents_shown == DocumentsShown.PACKET:
        if participant.documents_packet_id is None:
            return DocumentsShown.NONE.value
        return f"{PACKET_CHOICE}{participant.documents_packet_id}"
    return participant.documents_shown


def documents_shown_of(choice: str) -> dict:
    """A chosen option as ParticipantDetails' documents_shown and documents_packet_id."""
    if choice.startswith(PACKET_CHOICE):
        return {
            "documents_shown": DocumentsShown.PACKET.value,
            "documents_packet_id": int(choice[len(PACKET_CHOICE) :]),
        }
    return {"documents_shown": choice or DocumentsShown.ALL.value, "documents_packet_id": None}


class ParticipantForm(forms.Form):
    name = forms.CharField(label="Name or initials", min_length=2, max_length=150)
    invite_method = forms.ChoiceField(
        label="Session invite and reminders", choices=invite_method_choices, initial=InviteMethod.EMAIL
    )
    email = forms.EmailField(required=False)
    phone = PhoneNumberField(
        label="Mobile number",
        required=False,
        help_text="International format, e.g. +44 7911 123456.",
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+44 7911 123456"}),
    )
    time_zone = forms.ChoiceField(label="Time zone", choices=TIME_ZONE_CHOICES)
    # Set by the contact autofill when a suggestion is picked. The service only links a contact of the
    # session's organisation, so a forged id links nothing.
    contact_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, default_zone: str = "UTC", documents_choices: list | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].initial = default_zone
        if documents_choices:
            # Not required: a row sent without it (an older page) gets the model's default, all documents.
            self.fields["documents_shown"] = forms.ChoiceField(
                label="Show participant documents",
                choices=documents_choices,
                required=False,
                initial=DocumentsShown.ALL.value,
            )

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
            contact_id=data.get("contact_id"),
            **documents_shown_of(data.get("documents_shown") or ""),
        )


class PaymentAsked:
    """The Service and Payment required fields, given `services` (billing.forms.payment_services: None while
    the organisation's Stripe account cannot take payments, and then the fields are not there)."""

    def _add_payment(self, services: list[Service] | None) -> None:
        if services is not None:
            add_payment_fields(self, services=services)

    def clean(self):
        cleaned = super().clean()
        clean_payment_fields(self, cleaned)
        return cleaned


class ScheduleParticipantForm(PaymentAsked, ParticipantForm):
    """A participant row of the Schedule form, with the payment asked of them on every session booked."""

    def __init__(self, *args, services: list[Service] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_payment(services)

    def details(self) -> ParticipantDetails:
        return dataclasses.replace(super().details(), payment=payment_ask_of(self))


class BaseParticipantFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        filled = [form for form in self.forms if form.has_changed() and not self._should_delete_form(form)]
        if not filled:
            raise forms.ValidationError("Add at least one participant.")


ParticipantFormSet = forms.formset_factory(
    ScheduleParticipantForm,
    formset=BaseParticipantFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=20,
    validate_max=True,
    can_delete=True,
)
