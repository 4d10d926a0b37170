from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User
from contacts.models import InviteMethod
from contacts.services import ContactDetails, contacts_match_or_create
from sessions_app.models import Session
from sessions_app.services import ParticipantDetails, room_add, session_schedule, working_hours_add

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - the published demo login, shown in the README
DEMO_USERS = [
    ("host@demo.test", "Dr Alex Morgan", "Europe/London", Membership.Role.HOST),
    ("host2@demo.test", "Dr Sam Patel", "America/New_York", Membership.Role.HOST),
    ("scheduler@demo.test", "Jordan Lee", "Europe/London", Membership.Role.SCHEDULER),
    ("admin@demo.test", "Morgan Admin", "Europe/London", Membership.Role.ADMIN),
]
DEMO_CONTACTS = [
    ("Maria Garcia", "maria@example.test", "", InviteMethod.EMAIL, "Europe/Madrid"),
    ("Tom Becker", "tom@example.test", "", InviteMethod.EMAIL, "Europe/Berlin"),
    ("Priya Shah", "", "+447911123456", InviteMethod.SMS, "Asia/Kolkata"),
    ("Li Wei", "li@example.test", "", InviteMethod.EMAIL, "Australia/Sydney"),
    ("Noah Brown", "", "+12125552368", InviteMethod.WHATSAPP, "America/Chicago"),
]
# (host index, title, days from today, hour in the host's zone, duration, contact indexes)
DEMO_SESSIONS = [
    (0, "Initial consultation", 0, None, 50, [0]),
    (0, "Follow-up", 1, 10, 50, [1, 2]),
    (0, "Family session", 2, 15, 75, [0, 1, 3]),
    (1, "Coaching call", 1, 9, 30, [4]),
    (1, "Review", 3, 14, 45, [3, 2]),
]


class Command(BaseCommand):
    help = "Create the demo organisation, users, contacts and sessions. Running it again changes nothing."

    @transaction.atomic
    def handle(self, *args, **options):
        organization, _ = Organization.objects.get_or_create(slug="demo", defaults={"name": "Demo Practice"})
        users = []
        for email, name, zone, role in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email, password=DEMO_PASSWORD, full_name=name, time_zone=zone
                )
            Membership.objects.get_or_create(user=user, defaults={"organization": organization, "role": role})
            users.append(user)
        if Session.objects.filter(organization=organization).exists():
            self.stdout.write("Demo data already present.")
            return
        scheduler = users[2]
        rooms = [room_add(actor=scheduler, name=name) for name in ("Consulting room 1", "Consulting room 2")]
        # Weekdays 08:00-12:00 and 13:00-18:00 in each host's zone.
        for host in users[:2]:
            for weekday in range(5):
                for start, end in ((time(8), time(12)), (time(13), time(18))):
                    working_hours_add(actor=host, host=host, weekday=weekday, start_time=start, end_time=end)
        contacts = contacts_match_or_create(
            actor=scheduler,
            organization=organization,
            people=[
                ContactDetails(name=n, email=e, phone=p, preferred_method=m, time_zone=z)
                for n, e, p, m, z in DEMO_CONTACTS
            ],
        )
        now = timezone.now()
        for host_index, title, days, hour, minutes, contact_indexes in DEMO_SESSIONS:
            host = users[host_index]
            if hour is None:
                # Today's first session starts in 3 minutes, so its join links open at once.
                start = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
            else:
                day = (now.astimezone(host.zone) + timedelta(days=days)).date()
                start = datetime.combine(day, time(hour, 0), tzinfo=host.zone)
            session_schedule(
                actor=scheduler,
                host=host,
                room=rooms[0] if title == "Family session" else None,
                title=title,
                start_at=start,
                duration_minutes=minutes,
                participants=[
                    ParticipantDetails(
                        name=contacts[i].name,
                        invite_method=contacts[i].preferred_method,
                        email=contacts[i].email,
                        phone=str(contacts[i].phone) if contacts[i].phone else "",
                        time_zone=contacts[i].time_zone,
                    )
                    for i in contact_indexes
                ],
            )
        self.stdout.write(self.style.SUCCESS("Demo data created."))
