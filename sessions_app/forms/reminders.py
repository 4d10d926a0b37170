import re

from django import forms

from config.errors import ValidationFailedError
from sessions_app.services.reminders import MAX_REMINDERS, check_reminder_lead

_PART = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)\s*$", re.IGNORECASE)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


def parse_leads(text: str) -> list[int]:
    """'1d, 2h, 30m' -> [1440, 120, 30]."""
    minutes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _PART.match(part)
        if not match:
            raise forms.ValidationError(
                f"“{part}” is not a time before the start. Write for example 1d, 2h or 30m."
            )
        value = int(match.group(1)) * _UNIT_MINUTES[match.group(2)[0].lower()]
        try:
            check_reminder_lead(value)
        except ValidationFailedError as error:
            raise forms.ValidationError(f"“{part}”: {error.message}") from error
        minutes.append(value)
    return minutes


def format_leads(minutes: list[int]) -> str:
    parts = []
    for value in minutes:
        if value % (24 * 60) == 0:
            parts.append(f"{value // (24 * 60)}d")
        elif value % 60 == 0:
            parts.append(f"{value // 60}h")
        else:
            parts.append(f"{value}m")
    return ", ".join(parts)


class ReminderSettingsForm(forms.Form):
    reminders = forms.CharField(
        label="Reminders before each session",
        required=False,
        # Room for MAX_REMINDERS leads written out in full ("120 minutes, ..."); far fewer digits than the
        # thousands Python refuses to read as a number.
        max_length=MAX_REMINDERS * 20,
        help_text="Separate several with commas: 1d, 1h or 30m. Between 10 minutes and 14 days each; "
        "leave empty for no reminders.",
    )

    def clean_reminders(self):
        return parse_leads(self.cleaned_data["reminders"])
