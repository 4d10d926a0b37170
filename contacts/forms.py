from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from accounts.timezones import TIME_ZONE_CHOICES
from contacts.imports import COLUMNS_TEXT, MAX_IMPORT_BYTES
from contacts.models import Contact, InviteMethod
from contacts.selectors import AUTOCOMPLETE_MAX_LENGTH
from contacts.services import MAX_IMPORT_ROWS, MAX_NOTE_LENGTH, ContactDetails
from sessions_app.forms.schedule import invite_method_choices


class ContactForm(forms.Form):
    name = forms.CharField(label="Name or initials", min_length=2, max_length=150)
    email = forms.EmailField(required=False)
    phone = PhoneNumberField(
        label="Mobile number",
        required=False,
        help_text="International format, e.g. +44 7911 123456.",
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "+44 7911 123456"}),
    )
    preferred_method = forms.ChoiceField(
        label="Session invite and reminders", choices=invite_method_choices, initial=InviteMethod.EMAIL
    )
    time_zone = forms.ChoiceField(label="Time zone", choices=TIME_ZONE_CHOICES)
    note = forms.CharField(
        label="Record note",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Private: seen by your organisation's hosts and schedulers, never by the participant.",
    )

    def __init__(self, *args, contact: Contact | None = None, default_zone: str = "UTC", **kwargs):
        if contact is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": contact.name,
                    "email": contact.email,
                    "phone": contact.phone or "",
                    "preferred_method": contact.preferred_method,
                    "time_zone": contact.time_zone,
                    "note": contact.note,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].initial = default_zone
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "name",
            Row(Column("email", css_class="col-md-6"), Column("phone", css_class="col-md-6")),
            Row(Column("preferred_method", css_class="col-md-6"), Column("time_zone", css_class="col-md-6")),
            "note",
        )

    def details(self) -> ContactDetails:
        data = self.cleaned_data
        return ContactDetails(
            name=data["name"],
            email=data.get("email") or "",
            phone=str(data["phone"]) if data.get("phone") else "",
            preferred_method=data["preferred_method"],
            time_zone=data["time_zone"],
            note=data.get("note") or "",
        )


class ContactSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=AUTOCOMPLETE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, email or phone"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.form_show_labels = False


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8, first line {COLUMNS_TEXT}; at most {MAX_IMPORT_ROWS:,} contacts and "
            f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
