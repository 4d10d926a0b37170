"""The forms of a member's own account (profile, new email address), of the organisation's settings and of
the public sign-up. They check the shape of what was typed; the services have the last word."""

import copy

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from accounts.models import Organization, User
from accounts.services import MAX_CANCELLATION_WINDOW_HOURS
from accounts.timezones import TIME_ZONE_CHOICES
from sessions_app.forms.reminders import ReminderSettingsForm, parse_leads


def _zone_field(label: str, help_text: str = "") -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=TIME_ZONE_CHOICES, help_text=help_text)


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=User._meta.get_field("full_name").max_length)
    time_zone = _zone_field(
        "Your time zone", "Every page shows times in this zone, with the zone's name, as soon as you save."
    )


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=User._meta.get_field("email").max_length,
        help_text="We send a link to the new address; you keep logging in with the current one until it is "
        "opened.",
    )


def _leads_field() -> forms.CharField:
    # The Reminders page's own field and its parsing (1d, 2h, 30m), so both pages read lead times alike.
    field = copy.deepcopy(ReminderSettingsForm.base_fields["reminders"])
    field.label = "Default reminders for new hosts"
    field.help_text = (
        "What a host starts with when they join (each host then chooses their own on the Reminders page). "
        + field.help_text
    )
    return field


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(
        label="Organisation name", max_length=Organization._meta.get_field("name").max_length
    )
    default_participant_time_zone = _zone_field(
        "Default time zone for new participants",
        "Filled in for each participant on the Schedule form; it can be changed there for each person.",
    )
    default_reminder_lead_minutes = _leads_field()
    sender_name = forms.CharField(
        label="Sender name of emails",
        required=False,
        max_length=Organization._meta.get_field("sender_name").max_length,
        help_text="The name participants see as the sender of invitations and reminders. Leave empty to use "
        "the organisation's name.",
    )
    cancellation_window_hours = forms.IntegerField(
        label="Cancellation window (hours)",
        min_value=0,
        max_value=MAX_CANCELLATION_WINDOW_HOURS,
        help_text="Until how many hours before the start participants may cancel through their link or by "
        "text; after that their page asks them to contact the host.",
    )
    participant_cancel_cancels_session = forms.BooleanField(
        label="When the only participant cancels, cancel the session",
        required=False,
        help_text="Otherwise they are taken off it and the session stays in the host's diary.",
    )

    def clean_default_reminder_lead_minutes(self):
        return parse_leads(self.cleaned_data["default_reminder_lead_minutes"])


class SignUpForm(forms.Form):
    organization_name = forms.CharField(
        label="Organisation name", max_length=Organization._meta.get_field("name").max_length
    )
    full_name = forms.CharField(label="Your name", max_length=User._meta.get_field("full_name").max_length)
    email = forms.EmailField(label="Email", max_length=User._meta.get_field("email").max_length)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    time_zone = _zone_field("Your time zone", "Also the default time zone of your participants.")
    hosts = forms.BooleanField(
        label="I also host sessions",
        required=False,
        initial=True,
        help_text="Leave it ticked if you will see clients yourself; you can invite other hosts later.",
    )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error("password2", "The two passwords are not the same.")
        return cleaned
