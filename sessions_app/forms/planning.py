"""Forms of the planning pages: working hours, blocked slots, rooms, and the history's filters."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from sessions_app.forms.fields import WindowDateField, host_zone_help
from sessions_app.models import BlockedSlot, Outcome, Room, WorkingHours
from sessions_app.services.common import page_date_window
from sessions_app.timefmt import local_to_utc


def _helper(*layout) -> FormHelper:
    # The templates write the <form> tag and its CSRF token, so one page can hold several forms.
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class WorkingHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label="Day", choices=WorkingHours.Weekday.choices, coerce=int)
    start_time = forms.TimeField(label="From", widget=_time_input())
    end_time = forms.TimeField(label="Until", widget=_time_input())

    def __init__(self, *args, host, **kwargs):
        kwargs.setdefault("prefix", "hours")
        super().__init__(*args, **kwargs)
        for name in ("start_time", "end_time"):
            self.fields[name].help_text = host_zone_help(host.time_zone)
        self.helper = _helper(Row(Column("weekday"), Column("start_time"), Column("end_time")))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The end must be after the start.")
        return cleaned


class BlockedSlotForm(forms.Form):
    """A one-off blocked time, typed in the host's zone whoever types it."""

    start_date = WindowDateField(label="Start date", widget=_date_input())
    start_time = forms.TimeField(label="Start time", widget=_time_input())
    end_date = WindowDateField(label="End date", help_text="", widget=_date_input())
    end_time = forms.TimeField(label="End time", widget=_time_input())
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=BlockedSlot._meta.get_field("note").max_length,
        help_text="Shown to schedulers, e.g. “Conference”.",
    )

    def __init__(self, *args, host, **kwargs):
        kwargs.setdefault("prefix", "block")
        super().__init__(*args, **kwargs)
        self.host = host
        for name in ("start_time", "end_time"):
            self.fields[name].help_text = host_zone_help(host.time_zone)
        self.helper = _helper(
            Row(Column("start_date"), Column("start_time"), Column("end_date"), Column("end_time")),
            "note",
        )

    def clean(self):
        cleaned = super().clean()
        for end in ("start", "end"):
            day, time = cleaned.get(f"{end}_date"), cleaned.get(f"{end}_time")
            if day and time:
                try:
                    cleaned[f"{end}_at"] = local_to_utc(day, time, self.host.time_zone)
                except forms.ValidationError as error:
                    self.add_error(f"{end}_time", error)
        if cleaned.get("start_at") and cleaned.get("end_at") and cleaned["end_at"] <= cleaned["start_at"]:
            self.add_error("end_time", "The end must be after the start.")
        return cleaned


class RoomForm(forms.Form):
    name = forms.CharField(label="Room name", max_length=Room._meta.get_field("name").max_length)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class HistoryFilterForm(forms.Form):
    """The history's filters, read from the query string so a filtered page (and its CSV) has an address."""

    start = WindowDateField(label="From", required=False, window=page_date_window, widget=_date_input())
    end = WindowDateField(label="Until", required=False, window=page_date_window, widget=_date_input())
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any"), *Outcome.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("start"), Column("end"), Column("outcome")))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", "The end date must not be before the start date.")
        return cleaned
