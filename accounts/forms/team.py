"""The Team page's forms (invite, change a role, a scheduler's hosts, deactivate) and the invitation's
accept form. Each only shapes the input; the rules (the last admin, a clash for the new host) are the
services' (accounts.services), whose refusals come back on these forms' fields of the same names."""

from django import forms

from accounts.models import Membership, User
from accounts.services import CANCEL, REASSIGN, InvitationDetails
from accounts.timezones import TIME_ZONE_CHOICES

ALL_HOSTS = "all"
CHOSEN_HOSTS = "chosen"
BOOKS_FOR_CHOICES = [(ALL_HOSTS, "All hosts"), (CHOSEN_HOSTS, "Only these hosts")]


def _host_choices(hosts: list[User]) -> list[tuple[str, str]]:
    return [(str(host.pk), host.full_name) for host in hosts]


class BookableHostsMixin:
    """ "Books for: all hosts / only these", for a scheduler."""

    def _add_host_fields(self, hosts: list[User]) -> None:
        self.fields["books_for"] = forms.ChoiceField(
            label="Books for",
            choices=BOOKS_FOR_CHOICES,
            initial=ALL_HOSTS,
            # Left unanswered (the field is hidden for other roles), it means every host.
            required=False,
            widget=forms.RadioSelect,
        )
        self.fields["bookable_hosts"] = forms.TypedMultipleChoiceField(
            label="Hosts",
            choices=_host_choices(hosts),
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )

    def bookable_host_ids(self) -> list[int] | None:
        """None books for every host; a list, for those only."""
        if self.cleaned_data.get("books_for") != CHOSEN_HOSTS:
            return None
        return self.cleaned_data.get("bookable_hosts") or []


class InviteForm(BookableHostsMixin, forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial=Membership.Role.HOST)
    admin_hosts = forms.BooleanField(
        label="Also hosts sessions", required=False, help_text="For an admin: they get sessions of their own."
    )

    def __init__(self, *args, hosts: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self._add_host_fields(hosts)
        self.fields["books_for"].help_text = "For a scheduler: whose sessions they book and manage."

    def details(self) -> InvitationDetails:
        role = self.cleaned_data["role"]
        return InvitationDetails(
            email=self.cleaned_data["email"],
            role=role,
            admin_hosts=self.cleaned_data["admin_hosts"],
            bookable_host_ids=self.bookable_host_ids() if role == Membership.Role.SCHEDULER else None,
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)
    admin_hosts = forms.BooleanField(
        label="Also hosts sessions", required=False, help_text="For an admin: they get sessions of their own."
    )


class SchedulerHostsForm(BookableHostsMixin, forms.Form):
    def __init__(self, *args, hosts: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self._add_host_fields(hosts)


class DeactivateForm(forms.Form):
    """The confirmation; with upcoming sessions, also what becomes of them."""

    def __init__(self, *args, has_sessions: bool, new_hosts: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        if not has_sessions:
            return
        self.fields["upcoming"] = forms.ChoiceField(
            label="Their upcoming sessions",
            choices=[(REASSIGN, "Reassign them all to"), (CANCEL, "Cancel them all")],
            widget=forms.RadioSelect,
            error_messages={"required": "Choose whether to reassign or cancel the upcoming sessions."},
        )
        self.fields["new_host"] = forms.TypedChoiceField(
            label="New host",
            choices=[("", "Choose a host"), *_host_choices(new_hosts)],
            coerce=int,
            required=False,
        )
        self.fields["cancel_reason"] = forms.CharField(
            label="Reason for the cancellation (optional)",
            required=False,
            max_length=500,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text="Shown to the participants in the cancellation notice.",
        )
        self.new_hosts = {host.pk: host for host in new_hosts}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("upcoming") == REASSIGN and not cleaned.get("new_host"):
            self.add_error("new_host", "Choose the host who takes the sessions.")
        return cleaned

    def choice(self) -> dict:
        """The member_deactivate arguments for what happens to the sessions."""
        upcoming = self.cleaned_data.get("upcoming", "")
        return {
            "upcoming": upcoming,
            "new_host": self.new_hosts.get(self.cleaned_data.get("new_host"))
            if upcoming == REASSIGN
            else None,
            "cancel_reason": self.cleaned_data.get("cancel_reason", "") if upcoming == CANCEL else "",
        }


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150)
    time_zone = forms.ChoiceField(
        label="Your time zone",
        choices=TIME_ZONE_CHOICES,
        help_text="Every page and email shows times in this zone.",
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="Password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned
