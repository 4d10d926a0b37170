"""Set up a new installation: `manage.py create_organization "Name" admin@example.org`. Creates the
organisation and prints the one-time link with which its first admin chooses their name, time zone and
password (nobody types a password on the command line, where the shell's history would keep it)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.services import organization_create
from accounts.tokens import invitation_token
from config.errors import ApplicationError
from sessions_app.timefmt import format_when


class Command(BaseCommand):
    help = "Create an organisation and print the one-time set-up link of its first admin."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The organisation's name.")
        parser.add_argument("admin_email", help="The email address the first admin will log in with.")
        parser.add_argument(
            "--time-zone",
            default="Europe/London",
            help="The default time zone of new participants, and the zone the link's expiry is told in "
            "(default: Europe/London).",
        )

    def handle(self, *args, name: str, admin_email: str, time_zone: str, **options):
        try:
            organization, invitation = organization_create(
                name=name, admin_email=admin_email, time_zone=time_zone
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        link = settings.SITE_URL + reverse(
            "accounts:invitation_accept", kwargs={"token": invitation_token(invitation)}
        )
        self.stdout.write(f"Created {organization.name}.")
        self.stdout.write(
            f"Send this link to {invitation.email}; it works once, until "
            f"{format_when(invitation.expires_at, time_zone)}:"
        )
        self.stdout.write(link)
