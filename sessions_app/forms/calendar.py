"""The profile's form for the host's own calendar address (the subscription feed needs no fields: its buttons
are plain posts). The form checks the length; the service checks the address (calendar_import)."""

from django import forms

from sessions_app.calendar_import import MAX_URL_LENGTH


class CalendarSourceForm(forms.Form):
    url = forms.CharField(
        label="Secret iCal address of your calendar",
        max_length=MAX_URL_LENGTH,
        # A password field's manners: the address is a secret, not to be autofilled into or kept by the page.
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Google Calendar: Settings › your calendar › “Secret address in iCal format”. Outlook: "
        "Settings › Calendar › Shared calendars › Publish a calendar › ICS link. Apple iCloud: share the "
        "calendar as a public calendar and copy its webcal:// address.",
    )
