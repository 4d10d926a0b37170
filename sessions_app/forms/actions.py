"""The forms of the session actions (Manage menu and Quick actions). Each one turns what was typed into the
arguments of one service; the service has the last word, and its refusals come back through
`sessions_app.views.common.form_error`."""

from datetime import UTC, datetime, timedelta

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.db.models import Q

from billing.forms import INVOICE_FIELDS, add_invoice_fields, clean_invoice_fields
from sessions_app.availability import Availability
from sessions_app.forms.fields import WindowDateField, host_zone_help
from sessions_app.models import Room, Session
from sessions_app.services import FOLLOWING, KEEP_ROOM, THIS
from sessions_app.timefmt import in_zone, local_to_utc

SCOPE_CHOICES = [(THIS, "This session"), (FOLLOWING, "This and the following sessions")]


class SessionActionForm(forms.Form):
    """A form about one session, rendered with crispy inside the page's own <form> tag."""

    # The service's `ApplicationError.field` names, mapped to this form's fields.
    service_fields: dict[str, str] = {}

    def __init__(self, *args, session: Session, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        self.host_zone = session.host.time_zone
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def _add_scope(self) -> None:
        if self.session.series_id:
            self.fields["scope"] = forms.ChoiceField(
                label="Apply to", choices=SCOPE_CHOICES, initial=THIS, widget=forms.RadioSelect
            )

    @property
    def scope(self) -> str:
        return self.cleaned_data.get("scope") or THIS


class TimeWindowForm(SessionActionForm):
    """A form that proposes a time for the session; `window` is the proposed (start, end) in UTC once the
    time fields are clean, so the availability check can run even while other fields have errors."""

    time_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.window: tuple[datetime, datetime] | None = None

    @property
    def proposed_room(self) -> Room | None:
        """The room the availability answer is about: the session's own unless the form offers another."""
        return self.session.room

    def time_errors(self) -> list[str]:
        return [str(e) for name in ("__all__", *self.time_fields) for e in self.errors.get(name, [])]


class _StartForm(TimeWindowForm):
    """A new start typed as a date and a time in the host's zone; the session keeps its length."""

    time_fields = ("date", "time")
    service_fields = {"start": "time"}
    # A date input takes ISO dates whatever the locale would print.
    date = WindowDateField()
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time"].help_text = host_zone_help(self.host_zone)
        for name in self.time_fields:
            self.fields[name].widget.attrs["class"] = "availability-input"
        if not self.is_bound:
            start = in_zone(self.proposed_start(), self.host_zone)
            self.initial.setdefault("date", start.date())
            self.initial.setdefault("time", start.time().replace(second=0, microsecond=0))

    def proposed_start(self) -> datetime:
        return self.session.start_at

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time"):
            try:
                start_at = local_to_utc(cleaned["date"], cleaned["time"], self.host_zone)
            except forms.ValidationError as error:
                self.add_error("time", error)
                return cleaned
            cleaned["start_at"] = start_at
            self.window = (start_at, start_at + timedelta(minutes=self.session.duration_minutes))
            if start_at <= datetime.now(UTC):
                self.add_error("time", "That time has already passed. Choose a time in the future.")
        return cleaned


class RescheduleForm(_StartForm):
    service_fields = {"start": "time", "room": "room"}
    room = forms.ModelChoiceField(
        queryset=Room.objects.none(),
        required=False,
        empty_label="No room",
        help_text="A room holds one session at a time; the answer below follows the room chosen.",
    )
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the participants in the reschedule notice.",
    )
    notify = forms.BooleanField(label="Notify participants", required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_scope()
        # The organisation's active rooms, and the session's own even if it has been deactivated since.
        rooms = Room.objects.filter(organization_id=self.session.organization_id).filter(
            Q(is_active=True) | Q(pk=self.session.room_id)
        )
        if rooms.exists():
            self.fields["room"].queryset = rooms.order_by("name")
            self.fields["room"].widget.attrs["class"] = "availability-input"
            self.initial.setdefault("room", self.session.room_id)
            when = Row(Column("date"), Column("time"), Column("room"))
        else:
            del self.fields["room"]
            when = Row(Column("date"), Column("time"))
        self.helper.layout = Layout(when, *self._tail())

    @property
    def proposed_room(self) -> Room | None:
        # Read once the form is cleaned. A request that does not send the room at all (the question is not
        # asked, or an older page) and a room that failed validation leave the session's own.
        cleaned = getattr(self, "cleaned_data", {})
        if "room" not in self.data:
            return self.session.room
        return cleaned.get("room", self.session.room)

    @property
    def room_change(self):
        """The room for session_reschedule: the one chosen when it differs from the session's, else
        KEEP_ROOM, so a series moved with "This and the following" keeps each session's own room."""
        chosen = self.proposed_room
        return KEEP_ROOM if chosen == self.session.room else chosen

    def _tail(self) -> list[str]:
        return ["scope", "reason", "notify"] if "scope" in self.fields else ["reason", "notify"]


class ScheduleNextForm(_StartForm):
    title = forms.CharField(max_length=200)

    def __init__(self, *args, asked: bool = False, **kwargs):
        """`asked`: the organisation takes payments and someone was asked to pay for this session; the form
        then offers to ask the same again (ticked, as a host who charges would expect)."""
        super().__init__(*args, **kwargs)
        self.initial.setdefault("title", self.session.title)
        fields = ["title", Row(Column("date"), Column("time"))]
        if asked:
            self.fields["same_payments"] = forms.BooleanField(
                label="Ask the same payments again",
                required=False,
                initial=True,
                help_text=(
                    "Before they join, each participant below is asked what they were asked for this session."
                ),
            )
            fields.append("same_payments")
        self.helper.layout = Layout(*fields)

    def proposed_start(self) -> datetime:
        # A week later at the same wall-clock time in the host's zone, across a daylight-saving change too.
        zone = self.session.host.zone
        local = self.session.start_at.astimezone(zone).replace(tzinfo=None) + timedelta(days=7)
        return local.replace(tzinfo=zone).astimezone(UTC)


class ChangeEndForm(TimeWindowForm):
    time_fields = ("end_time",)
    service_fields = {"end": "end_time", "start": "end_time", **INVOICE_FIELDS}
    end_time = forms.TimeField(
        label="New end", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    notify = forms.BooleanField(label="Notify participants of the new end", required=False, initial=True)

    def __init__(self, *args, invoice_participants: list | None = None, **kwargs):
        """`invoice_participants`: who may be invoiced for the extension, or None while the organisation's
        Stripe account cannot take payments (then nothing is offered)."""
        super().__init__(*args, **kwargs)
        if invoice_participants:
            today = in_zone(datetime.now(UTC), self.host_zone).date()
            add_invoice_fields(self, participants=invoice_participants, today=today)
        local_start = in_zone(self.session.start_at, self.host_zone)
        self.fields["end_time"].help_text = (
            f"{host_zone_help(self.host_zone)} A time at or before the start "
            f"({local_start:%H:%M}) means the next day."
        )
        self.fields["end_time"].widget.attrs["class"] = "availability-input"
        if not self.is_bound:
            self.initial["end_time"] = in_zone(self.session.end_at, self.host_zone).time()
        invoice = (
            [
                Fieldset(
                    "",
                    "invoice_extension",
                    Row(Column("invoice_participant"), Column("invoice_amount"), Column("invoice_due_date")),
                    css_class="border rounded p-3 mb-3",
                    css_id="invoice-extension",
                )
            ]
            if "invoice_extension" in self.fields
            else []
        )
        self.helper.layout = Layout("end_time", "notify", *invoice)

    def clean(self):
        cleaned = super().clean()
        end_time = cleaned.get("end_time")
        if end_time is None:
            return cleaned
        local_start = in_zone(self.session.start_at, self.host_zone)
        day = local_start.date()
        # The form asks for a time only; one that is not after the start can only mean past midnight.
        if end_time <= local_start.time():
            day += timedelta(days=1)
        try:
            end_at = local_to_utc(day, end_time, self.host_zone)
        except forms.ValidationError as error:
            self.add_error("end_time", error)
            return cleaned
        cleaned["end_at"] = end_at
        self.window = (self.session.start_at, end_at)
        if end_at <= datetime.now(UTC):
            self.add_error("end_time", "That end has already passed.")
        if cleaned.get("invoice_extension"):
            clean_invoice_fields(self, cleaned)
            if end_at <= self.session.end_at:
                self.add_error("invoice_extension", "Only a later end is an extension to invoice.")
        return cleaned

    @property
    def ends_next_day(self) -> bool:
        if self.window is None:
            return False
        start, end = (in_zone(moment, self.host_zone).date() for moment in self.window)
        return end > start


class CancelForm(SessionActionForm):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the participants in the cancellation notice.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_scope()


class RemoveForm(SessionActionForm):
    """Nothing to fill in: the page is the confirmation."""


class NoShowForm(SessionActionForm):
    participants = forms.TypedMultipleChoiceField(
        label="Who did not come",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    whole_session = forms.BooleanField(label="Nobody came (whole session)", required=False)
    confirm_joined = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = list(self.session.participants.active().order_by("id"))
        self.fields["participants"].choices = [
            (p.pk, f"{p.name} (joined)" if p.joined_at else p.name) for p in people
        ]
        self.names = {p.pk: p.name for p in people}
        self.joined = [p.name for p in people if p.joined_at]
        if self.joined:
            # Someone came in through their link: "nobody came" contradicts that, so it is asked twice.
            self.fields["confirm_joined"].label = (
                f"{' and '.join(self.joined)} joined through their link. "
                "Mark the whole session as a no-show anyway"
            )
        else:
            del self.fields["confirm_joined"]
        if not self.is_bound:
            self.initial["participants"] = [p.pk for p in people if p.no_show]
            self.initial["whole_session"] = self.session.no_show

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("participants") and not cleaned.get("whole_session"):
            raise forms.ValidationError("Tick who did not come, or “Nobody came (whole session)”.")
        if cleaned.get("whole_session") and self.joined and not cleaned.get("confirm_joined"):
            self.add_error(
                "confirm_joined",
                f"{' and '.join(self.joined)} joined this session. Tick this box to record that nobody "
                "came anyway, or untick “Nobody came”.",
            )
        return cleaned


class ReassignForm(SessionActionForm):
    service_fields = {"host": "new_host"}
    new_host = forms.ChoiceField(
        label="New host", widget=forms.RadioSelect, error_messages={"required": "Choose the new host."}
    )

    def __init__(self, *args, colleagues: list[tuple], viewer_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.colleagues = {str(host.pk): host for host, _availability in colleagues}
        self.fields["new_host"].choices = [
            (str(host.pk), self._choice_label(host, availability, viewer_zone))
            for host, availability in colleagues
        ]

    @staticmethod
    def _choice_label(host, availability: Availability, zone: str) -> str:
        # Still selectable when busy: the service refuses only a real overlap, and says why.
        if availability.status == "available":
            return host.full_name
        return f"{host.full_name} — not available: {' '.join(availability.reasons(zone))}"

    def clean_new_host(self):
        return self.colleagues[self.cleaned_data["new_host"]]
