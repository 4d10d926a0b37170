"""A date field whose range is the services' own (sessions_app.services.common), so a form refuses a far
date with a message before any arithmetic on it can overflow."""

from collections.abc import Callable
from datetime import date

from django import forms

from sessions_app.services.common import SESSION_WINDOW_HELP, date_window_message, session_date_window


class WindowDateField(forms.DateField):
    """A day within `window` (by default the days a session may start on, and said so in the help)."""

    def __init__(self, *, window: Callable[[], tuple[date, date]] = session_date_window, **kwargs):
        if window is session_date_window:
            kwargs.setdefault("help_text", SESSION_WINDOW_HELP)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)
        self.window = window

    def validate(self, value):
        super().validate(value)
        if value is not None:
            first, last = self.window()
            if not first <= value <= last:
                raise forms.ValidationError(date_window_message((first, last)), code="out_of_range")


def host_zone_help(zone_name: str) -> str:
    """The help of every time field: a time is typed in the host's zone, whoever types it (a scheduler
    acting for a host in another zone too), and the field says so."""
    return f"In {zone_name.replace('_', ' ')}, the host's time zone."
