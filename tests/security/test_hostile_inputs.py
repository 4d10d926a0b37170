"""Every form the product posts, and every page filter it reads, fed hostile values (NUL bytes, huge
strings, years 1 and 9999, leads of billions of days, view names where a URL belongs, markup): the answer
is never a 500, a refusal writes nothing, and every redirect stays on this site."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuditEvent, Invitation, Membership, Organization, User
from accounts.services import InvitationDetails, invitation_create
from accounts.tokens import invitation_token
from billing.models import Invoice, Payment, Service, StripeConnection
from contacts.models import Contact
from documents.models import Document, DocumentField, Packet, PacketDocument, Submission, SubmissionFile
from notifications.models import HostNoticeSettings, Notification
from sessions_app.join.links import join_token
from sessions_app.models import BlockedSlot, Participant, Room, Session, WorkingHours
from sessions_app.services import room_add
from sessions_app.services.common import session_date_window
from tests.factories import PASSWORD, ContactFactory, ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db

CANNED = [
    "",
    " ",
    "-1",
    "0",
    "home",
    "sessions:dashboard",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "24:00",
    "23:59:59.999999",
    "99999999999d",
    "99999999999",
    "-99999999999",
    "1e309",
    "NaN",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "Smith & Jones 'Review'",
    "\x00",
    "Pa\x00t",
    "\r\nSet-Cookie: x=1",
    "\u202eevil",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 名前",
    "Europe/Nowhere",
    "%00",
]
HUGE = ["x" * 100_000, "9" * 5_000, "%" * 60_000, "\x00" * 1_000, "1d, " * 5_000]
HOSTILE = st.one_of(st.sampled_from(CANNED), st.sampled_from(HUGE), st.text(max_size=40))
# The values of the reported 500s, tried in every field of every form.
KNOWN = ["\x00", "x" * 100_000, "-1", "home", "0001-01-01", "9999-12-31", "99999999999d"]

# Year 1 overflows on its way to UTC from a zone ahead of it, year 9999 from one behind it.
EAST, WEST = "Asia/Tokyo", "America/New_York"

HYPOTHESIS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class World:
    """What the forms act on; a new session (with its participants) is made for every example, so an
    accepted cancel or reschedule does not leave the next example nothing to act on."""

    host: object
    colleague: object
    scheduler: object
    contact: object
    room: Room
    session: Session | None = None
    started: Session | None = None
    zone: str = "Europe/London"
    # The organisation's admin (its settings, its whole audit log).
    admin: object = None

    def fresh_sessions(self) -> None:
        # Hypothesis runs its examples in one database transaction: what the last example booked or moved
        # goes, or PostgreSQL's exclusion constraint would refuse the new sessions at the same times.
        hosts = [self.host, self.colleague]
        # What was billed holds on to its session (PROTECT), so it goes first.
        Invoice.objects.filter(session__host__in=hosts).delete()
        Payment.objects.filter(session__host__in=hosts).delete()
        Session.objects.filter(host__in=hosts).delete()
        now = timezone.now().replace(second=0, microsecond=0)
        self.session = SessionFactory(host=self.host, title="Review", start_at=now + timedelta(days=1))
        ParticipantFactory(session=self.session, name="Pat", email="pat@example.test")
        self.started = SessionFactory(host=self.host, title="Started", start_at=now - timedelta(minutes=10))
        ParticipantFactory(session=self.started, name="Sam", email="sam@example.test")

    @property
    def edge_times(self) -> tuple[str, str]:
        """Times of day that take a far date furthest towards the end of the calendar once made UTC."""
        return ("00:15", "00:45") if self.zone == EAST else ("23:15", "23:45")

    def set_zone(self, zone: str) -> None:
        self.zone = zone
        for user in (self.host, self.scheduler):
            user.time_zone = zone
            user.save(update_fields=["time_zone"])

    @property
    def participant(self) -> Participant:
        return self.session.participants.order_by("id").first()


@pytest.fixture
def world(host, other_host, scheduler):
    return World(
        host=host,
        colleague=other_host,
        scheduler=scheduler,
        contact=ContactFactory(organization=host.organization, name="Pat Client"),
        room=room_add(actor=scheduler, name="Blue room"),
        admin=member(role=Membership.Role.ADMIN, organization=host.organization, full_name="Ann Admin"),
    )


@pytest.fixture(autouse=True)
def payments_connected(request, host):
    """Payments on and the organisation's Stripe account taking charges, so the participant and change-end
    forms carry their payment fields. The API address is a closed local port: no form here calls Stripe."""
    django_settings = request.getfixturevalue("settings")
    django_settings.STRIPE_SECRET_KEY = "sk_test_hostile"
    django_settings.STRIPE_API_BASE_URL = "http://127.0.0.1:9"
    StripeConnection.objects.create(
        organization=host.organization, account_id="acct_hostile", charges_enabled=True
    )


@pytest.fixture(autouse=True)
def signup_open(settings, monkeypatch):
    """The public sign-up on, and its limit per address out of the way, so every example reaches the form
    and the service (the limit itself is tested in tests/accounts/test_setup.py)."""
    settings.ALLOW_SIGNUP = True
    monkeypatch.setattr("accounts.views.signup.signup_allowed", lambda request: True)


def _service(world: World) -> Service:
    service, _ = Service.objects.get_or_create(
        organization=world.host.organization, name="Consultation", defaults={"price_amount": 8000}
    )
    return service


def _in_days(days: int) -> str:
    return f"{timezone.now() + timedelta(days=days):%Y-%m-%d}"


def _person(prefix: str = "") -> dict:
    return {
        f"{prefix}name": "Kim New",
        f"{prefix}invite_method": "email",
        f"{prefix}email": "kim@example.test",
        f"{prefix}phone": "",
        f"{prefix}time_zone": "Europe/London",
        f"{prefix}contact_id": "",
    }


def _document(world: World, title: str) -> Document:
    """One of the host's organisation's documents, with a field of every kind: "Intake" is filled in by the
    participant, "Editable" takes the editor's changes, so neither form spoils the other's next example."""
    document, created = Document.objects.get_or_create(organization=world.host.organization, title=title)
    if created:
        for position, kind in enumerate(DocumentField.Kind.values):
            choices = ["Morning", "Evening"] if kind.endswith("_choice") else []
            document.fields.create(position=position, kind=kind, label=kind, choices=choices)
    return document


def _fill(world: World) -> dict:
    fields = {f.kind: f"field_{f.pk}" for f in _document(world, "Intake").fields.all()}
    return {
        fields["short_text"]: "Pat Client",
        fields["long_text"]: "Nothing to add.",
        fields["single_choice"]: "Morning",
        fields["multiple_choice"]: "Evening",
        fields["date"]: "1990-01-31",
        fields["yes_no"]: "yes",
        fields["consent"]: "on",
        fields["signature"]: "Pat Client",
        "action": "submit",
    }


def _on_editable(world: World, payload: dict) -> dict:
    # The document exists before the snapshot is taken, so only the form itself can have written anything.
    _document(world, "Editable")
    return payload


def _editable_field(world: World):
    return _document(world, "Editable").fields.order_by("position").first()


CONTACTS_CSV = b"name,email,phone,preferred_method,time_zone,note\nKim New,kim@example.test,,,,\n"


def _contact_fields(name: str) -> dict:
    return {
        "name": name,
        "email": "pat@example.test",
        "phone": "+447911123456",
        "preferred_method": "email",
        "time_zone": "Europe/London",
        "note": "Prefers mornings",
    }


def _session_url(name: str):
    return lambda w: reverse(f"sessions:{name}", kwargs={"pk": w.session.pk})


def _participant_url(name: str):
    return lambda w: reverse(
        f"sessions:{name}", kwargs={"pk": w.session.pk, "participant_pk": w.participant.pk}
    )


def _member_url(name: str, who: str):
    return lambda w: reverse(
        f"accounts:{name}", kwargs={"pk": Membership.objects.get(user=getattr(w, who)).pk}
    )


@dataclass
class Form:
    """One form (or page filter): where it is, who uses it, and a valid payload whose fields are each
    kept or replaced by a hostile value."""

    name: str
    url: object
    valid: object
    method: str = "post"
    user: str = "host"
    # A GET export that records itself in the audit log: the file it sends is what it accepted.
    exports: bool = False


FORMS = [
    Form(
        "schedule",
        lambda w: reverse("sessions:schedule"),
        lambda w: {
            "title": "Therapy",
            "date": _in_days(3),
            "time": w.edge_times[0],
            "duration_minutes": "50",
            "room": str(w.room.pk),
            "repeat": "weekly",
            "repeat_ends": "count",
            "repeat_count": "3",
            "repeat_until": _in_days(40),
            "participants-TOTAL_FORMS": "1",
            "participants-INITIAL_FORMS": "0",
            "participants-MIN_NUM_FORMS": "1",
            "participants-MAX_NUM_FORMS": "20",
            **_person("participants-0-"),
        },
    ),
    Form(
        "reschedule",
        _session_url("reschedule"),
        lambda w: {
            "date": _in_days(4),
            "time": w.edge_times[0],
            "reason": "Moved",
            "notify": "on",
            "scope": "this",
        },
    ),
    Form("cancel", _session_url("cancel"), lambda w: {"reason": "Unwell", "scope": "this"}),
    Form("remove", _session_url("remove"), lambda w: {"next": "/"}),
    Form("participant_admit", _participant_url("participant_admit"), lambda w: {"next": "/"}),
    Form("admit_all", _session_url("admit_all"), lambda w: {"next": "/"}),
    Form("change_end", _session_url("change_end"), lambda w: {"end_time": "23:00", "notify": "on"}),
    Form(
        "change_end_invoice",
        _session_url("change_end"),
        lambda w: {
            "end_time": "23:00",
            "notify": "on",
            "invoice_extension": "on",
            "invoice_participant": str(w.participant.pk),
            "invoice_amount": "40.00",
            "invoice_due_date": _in_days(14),
        },
    ),
    Form(
        "schedule_next",
        _session_url("schedule_next"),
        lambda w: {"title": "Next", "date": _in_days(9), "time": w.edge_times[0]},
    ),
    Form("reassign", _session_url("reassign"), lambda w: {"new_host": str(w.colleague.pk)}),
    Form(
        "no_show",
        lambda w: reverse("sessions:no_show", kwargs={"pk": w.started.pk}),
        lambda w: {"participants": str(w.started.participants.get().pk), "whole_session": ""},
    ),
    Form(
        "participant_add",
        _session_url("participant_add"),
        lambda w: {**_person(), "contact_id": str(w.contact.pk), "next": "/calendar/"},
    ),
    Form(
        "participant_edit",
        _participant_url("participant_edit"),
        lambda w: {
            "invite_method": "email",
            "email": "pat.new@example.test",
            "phone": "",
            "time_zone": "Asia/Tokyo",
            "next": "/",
        },
    ),
    Form(
        "participant_add_with_payment",
        _session_url("participant_add"),
        lambda w: {
            **_person(),
            "service": str(_service(w).pk),
            "payment_amount": "80.00",
            "payment_currency": "eur",
        },
    ),
    Form(
        "participant_edit_payment",
        _participant_url("participant_edit"),
        lambda w: {
            "invite_method": "email",
            "email": "pat@example.test",
            "phone": "",
            "time_zone": "Europe/London",
            "service": "",
            "payment_amount": "45.50",
            "payment_currency": "gbp",
        },
    ),
    Form("participant_remind", _participant_url("participant_remind"), lambda w: {"next": "/history/"}),
    Form("participant_remove", _participant_url("participant_remove"), lambda w: {"next": "/history/"}),
    Form(
        "working_hours",
        lambda w: reverse("sessions:working_hours_add"),
        lambda w: {"hours-weekday": "0", "hours-start_time": "09:00", "hours-end_time": "17:00"},
    ),
    Form(
        "blocked_slot",
        lambda w: reverse("sessions:blocked_slot_add"),
        lambda w: {
            "block-start_date": _in_days(20),
            "block-start_time": w.edge_times[0],
            "block-end_date": _in_days(20),
            "block-end_time": w.edge_times[1],
            "block-note": "Conference",
        },
    ),
    Form(
        "room_add",
        lambda w: reverse("sessions:room_add"),
        lambda w: {"new-room-name": "Green room"},
        user="scheduler",
    ),
    Form(
        "room_rename",
        lambda w: reverse("sessions:room_rename", kwargs={"pk": w.room.pk}),
        lambda w: {f"room-{w.room.pk}-name": "Red room"},
        user="scheduler",
    ),
    Form(
        "reminder_settings",
        lambda w: reverse("sessions:reminder_settings"),
        lambda w: {"reminders": "1d, 1h"},
    ),
    Form(
        "login",
        lambda w: reverse("login"),
        lambda w: {"username": w.host.email, "password": PASSWORD, "next": "/history/"},
        user="",
    ),
    Form(
        "password_reset",
        lambda w: reverse("password_reset"),
        lambda w: {"email": w.host.email},
        user="",
    ),
    Form(
        "history",
        lambda w: reverse("sessions:history"),
        lambda w: {"start": _in_days(-30), "end": _in_days(0), "outcome": "completed", "page": "1"},
        method="get",
    ),
    Form(
        "history_csv",
        lambda w: reverse("sessions:history_csv"),
        lambda w: {"start": _in_days(-30), "end": _in_days(0), "outcome": ""},
        method="get",
    ),
    Form(
        "calendar",
        lambda w: reverse("sessions:calendar"),
        lambda w: {"view": "month", "date": _in_days(0)},
        method="get",
    ),
    Form(
        "availability",
        _session_url("availability"),
        lambda w: {"mode": "reschedule", "date": _in_days(2), "time": w.edge_times[0], "end_time": "11:00"},
        method="get",
    ),
    Form(
        "schedule_prefill",
        lambda w: reverse("sessions:schedule"),
        lambda w: {"date": _in_days(3), "time": w.edge_times[0]},
        method="get",
    ),
    Form(
        "schedule_availability",
        lambda w: reverse("sessions:schedule_availability"),
        lambda w: {
            "date": _in_days(3),
            "time": w.edge_times[0],
            "duration_minutes": "50",
            "room": str(w.room.pk),
        },
        method="get",
    ),
    Form(
        "profile",
        lambda w: reverse("accounts:profile"),
        lambda w: {"full_name": "Dr Ada Host", "time_zone": "Europe/London"},
    ),
    Form(
        "password_change",
        lambda w: reverse("accounts:password_change"),
        lambda w: {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    ),
    Form(
        "email_change",
        lambda w: reverse("accounts:email_change"),
        lambda w: {"email": "ada.new@example.test"},
    ),
    # The host's own calendar, read for busy times (issue 13); the address is checked again on every read.
    Form(
        "calendar_source",
        lambda w: reverse("accounts:calendar_source_set"),
        lambda w: {"url": "webcal://calendar.example.test/private-abc/basic.ics"},
    ),
    Form(
        "organization_settings",
        lambda w: reverse("accounts:organization_settings"),
        lambda w: {
            "name": "Bright Therapy",
            "default_participant_time_zone": "Asia/Tokyo",
            "default_reminder_lead_minutes": "1d, 1h",
            "sender_name": "Dr Ada's Practice",
            "cancellation_window_hours": "24",
        },
        user="admin",
    ),
    Form(
        "signup",
        lambda w: reverse("accounts:signup"),
        lambda w: {
            "organization_name": "Solo Practice",
            "full_name": "Sam Solo",
            "email": f"sam{User.objects.count()}@example.test",
            "password1": "a-good-long-secret",
            "password2": "a-good-long-secret",
            "time_zone": "Europe/London",
            "hosts": "on",
        },
        user="",
    ),
    Form(
        "audit_log",
        lambda w: reverse("accounts:audit_log"),
        lambda w: {
            "member": str(w.scheduler.pk),
            "host": str(w.host.pk),
            "action": "session.cancel",
            "start": _in_days(-30),
            "end": _in_days(0),
            "page": "2",
        },
        method="get",
        user="admin",
    ),
    Form(
        "audit_log_csv",
        lambda w: reverse("accounts:audit_log_csv"),
        lambda w: {"member": str(w.host.pk), "host": str(w.host.pk), "action": "", "start": _in_days(-30)},
        method="get",
        user="host",
        exports=True,
    ),
    Form("autocomplete", lambda w: reverse("contacts:autocomplete"), lambda w: {"q": "Pat"}, method="get"),
    Form("contacts", lambda w: reverse("contacts:list"), lambda w: {"q": "Pat", "page": "2"}, method="get"),
    Form("contact_create", lambda w: reverse("contacts:create"), lambda w: _contact_fields("Kim New")),
    Form(
        "contact_edit",
        lambda w: reverse("contacts:edit", kwargs={"pk": w.contact.pk}),
        lambda w: _contact_fields("Pat Client"),
    ),
    Form(
        "contact_import",
        lambda w: reverse("contacts:import"),
        lambda w: {"file": SimpleUploadedFile("contacts.csv", CONTACTS_CSV)},
    ),
    Form(
        "document_create",
        lambda w: reverse("documents:document_create"),
        lambda w: {"title": "Consent", "instructions": "Read first.", "is_active": "on", "is_required": "on"},
    ),
    Form(
        "document_edit",
        lambda w: reverse("documents:document_edit", kwargs={"pk": _document(w, "Editable").pk}),
        lambda w: _on_editable(
            w,
            {
                "title": "Editable",
                "instructions": "Please answer.",
                "is_active": "on",
                "is_required": "",
            },
        ),
        user="scheduler",
    ),
    Form(
        "document_field_add",
        lambda w: reverse("documents:field_add", kwargs={"pk": _document(w, "Editable").pk}),
        lambda w: _on_editable(
            w,
            {
                "kind": "multiple_choice",
                "label": "Best times",
                "help_text": "Tick all that suit you.",
                "choices": "Morning\r\nEvening",
                "required": "on",
            },
        ),
    ),
    Form(
        "document_field_edit",
        lambda w: reverse(
            "documents:field_edit",
            kwargs={"pk": _document(w, "Editable").pk, "field_pk": _editable_field(w).pk},
        ),
        lambda w: _on_editable(
            w,
            {
                "kind": "single_choice",
                "label": "When",
                "help_text": "",
                "choices": "Am\nPm",
                "required": "",
            },
        ),
    ),
    Form(
        "packet",
        lambda w: reverse("documents:packet_create"),
        lambda w: {"name": "First visit", f"document_{_document(w, 'Intake').pk}": "1"},
        user="scheduler",
    ),
    Form(
        "service_create",
        lambda w: reverse("billing:service_create"),
        lambda w: {"name": "First visit", "price": "80.00", "currency": "eur", "duration_minutes": "50"},
    ),
    Form(
        "service_edit",
        lambda w: reverse("billing:service_edit", kwargs={"pk": _service(w).pk}),
        # The service exists before the snapshot is taken, so only the form itself can have written anything.
        lambda w: {
            "name": _service(w).name,
            "price": "0.29",
            "currency": "gbp",
            "duration_minutes": "30",
        },
    ),
    Form(
        "billing_settings",
        lambda w: reverse("billing:settings"),
        lambda w: {"late_cancel_hours": "24", "late_cancel_fee_percent": "50"},
    ),
    Form(
        "payments",
        lambda w: reverse("billing:payments"),
        lambda w: {
            "host": str(w.host.pk),
            "start": _in_days(-30),
            "end": _in_days(30),
            "page": "2",
            "invoices_page": "1",
        },
        method="get",
        user="scheduler",
    ),
    Form(
        "payments_csv",
        lambda w: reverse("billing:payments_csv"),
        lambda w: {"host": str(w.host.pk), "start": _in_days(-30), "end": _in_days(30)},
        method="get",
    ),
    Form(
        "participant_document_fill",
        lambda w: reverse("join:document", kwargs={"document_pk": _document(w, "Intake").pk}),
        _fill,
        user="participant",
    ),
    # The participant's own answers (issue 13; Confirm has no field), and the host's "mark as done" of a
    # request for another time.
    Form(
        "participant_cancel",
        lambda w: reverse("join:cancel"),
        lambda w: {"reason": "Unwell"},
        user="participant",
    ),
    Form(
        "participant_ask_another_time",
        lambda w: reverse("join:ask_another_time"),
        lambda w: {"message": "Thursday afternoon?"},
        user="participant",
    ),
    Form(
        "participant_request_done",
        _participant_url("participant_request_done"),
        lambda w: {"next": "/"},
    ),
    Form(
        "team_invite",
        lambda w: reverse("accounts:team_invite"),
        lambda w: {
            "email": "colleague@example.test",
            "role": "scheduler",
            "admin_hosts": "on",
            "books_for": "chosen",
            "bookable_hosts": str(w.host.pk),
        },
        user="admin",
    ),
    Form(
        "team_member_role",
        _member_url("member_role", "colleague"),
        lambda w: {"role": "admin", "admin_hosts": "on"},
        user="admin",
    ),
    Form(
        "team_member_hosts",
        _member_url("member_hosts", "scheduler"),
        lambda w: {"books_for": "chosen", "bookable_hosts": str(w.colleague.pk)},
        user="admin",
    ),
    Form(
        "team_member_deactivate",
        _member_url("member_deactivate", "host"),
        lambda w: {"upcoming": "reassign", "new_host": str(w.colleague.pk), "cancel_reason": "Leaving"},
        user="admin",
    ),
    Form(
        "invitation_accept",
        lambda w: reverse("accounts:invitation_form"),
        lambda w: {
            "full_name": "Nia New",
            "time_zone": "Asia/Tokyo",
            "password": "a-long-fresh-password-42",
            "password_confirm": "a-long-fresh-password-42",
        },
        user="invited",
    ),
]


def _snapshot() -> tuple:
    counts = tuple(
        model.objects.count()
        for model in (
            Session,
            Participant,
            Notification,
            AuditEvent,
            Contact,
            BlockedSlot,
            WorkingHours,
            Room,
            HostNoticeSettings,
            Document,
            DocumentField,
            Packet,
            PacketDocument,
            Submission,
            SubmissionFile,
            Service,
            Payment,
            Invoice,
            Organization,
            User,
        )
    )
    sessions = list(
        Session.objects.order_by("pk").values_list("pk", "start_at", "end_at", "status", "host_id")
    )
    people = list(
        Participant.objects.order_by("pk").values_list("pk", "email", "phone", "time_zone", "removed_at")
    )
    documents = list(
        Document.objects.order_by("pk").values_list("pk", "title", "instructions", "is_active", "is_required")
    )
    fields = list(
        DocumentField.objects.order_by("pk").values_list("pk", "kind", "label", "choices", "position")
    )
    answers = list(Submission.objects.order_by("pk").values_list("pk", "status", "answers", "signed_name"))
    money = (
        list(
            Service.objects.order_by("pk").values_list("pk", "name", "price_amount", "currency", "is_active")
        ),
        list(Payment.objects.order_by("pk").values_list("pk", "amount", "currency", "status")),
        list(
            StripeConnection.objects.order_by("pk").values_list(
                "late_cancel_hours", "late_cancel_fee_percent"
            )
        ),
    )
    team = (
        list(Membership.objects.order_by("pk").values_list("role", "admin_hosts", "books_for_all_hosts")),
        list(
            Membership.bookable_hosts.through.objects.order_by("pk").values_list("membership_id", "user_id")
        ),
        list(User.objects.order_by("pk").values_list("email", "full_name", "time_zone", "is_active")),
        list(Invitation.objects.order_by("pk").values_list("email", "role", "token_hash", "accepted_at")),
    )
    return counts, sessions, people, documents, fields, answers, money, team


def _client(world: World, user: str) -> Client:
    client = Client()
    if user == "participant":
        # No account: the browser holds the cookie the participant's join link left.
        client.get(reverse("join:enter", kwargs={"token": join_token(world.participant)}))
    elif user == "invited":
        # No account yet: the browser opened a new invitation's link, which left its cookie.
        invitation = invitation_create(
            actor=world.admin,
            details=InvitationDetails(email=f"invited{Invitation.objects.count()}@example.test", role="host"),
        )
        client.get(reverse("accounts:invitation_accept", kwargs={"token": invitation_token(invitation)}))
    elif user:
        client.force_login(getattr(world, user))
    return client


def _assert_stays_on_this_site(response) -> None:
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def _send(world: World, form: Form, payload: dict):
    """Post (or get) the payload and check the answer; returns whether the form took it."""
    client = _client(world, form.user)
    before = _snapshot()

    response = getattr(client, form.method)(form.url(world), payload)
    if response.streaming:
        # The CSV is written while it is sent: a failure would only show while reading it.
        b"".join(response.streaming_content)

    assert response.status_code < 500
    first, last = session_date_window()
    assert not Session.objects.exclude(start_at__date__range=(first, last)).exists(), "a session out of range"
    accepted = (form.method == "post" and response.status_code in (301, 302)) or (
        form.exports and response.streaming
    )
    if response.status_code in (301, 302):
        _assert_stays_on_this_site(response)
    if not accepted:
        assert _snapshot() == before, f"{form.name} refused {payload!r:.300} but wrote something"
    return accepted


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_each_known_hostile_value_in_each_field_is_answered_without_a_500(world, form):
    world.fresh_sessions()
    # The formset's bookkeeping fields are Django's own; the random test below still varies them.
    for name in [name for name in form.valid(world) if not name.endswith("_FORMS")]:
        for value in KNOWN:
            world.set_zone(EAST if value.startswith("0001") else WEST)
            if _send(world, form, {**form.valid(world), name: value}):
                # An accepted change (a cancel, a reschedule) would leave the next value nothing to act on.
                world.fresh_sessions()


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
@HYPOTHESIS
@given(data=st.data())
def test_hostile_values_never_make_a_500_and_a_refusal_writes_nothing(world, form, data):
    world.fresh_sessions()
    world.set_zone(data.draw(st.sampled_from([EAST, WEST, "Europe/London"]), label="zone"))
    payload = form.valid(world)
    # A few fields at a time, so the others stay valid and the hostile ones reach the deeper checks.
    for name in data.draw(st.lists(st.sampled_from(sorted(payload)), min_size=1, max_size=3, unique=True)):
        payload[name] = data.draw(HOSTILE, label=name)
    _send(world, form, payload)


@HYPOTHESIS
@given(token=HOSTILE, uid=HOSTILE)
def test_hostile_join_and_password_reset_links_are_a_plain_404_or_a_page(world, token, uid):
    client = Client()
    before = _snapshot()

    join = client.get(f"/join/{quote(token, safe='')}/")
    reset = client.get(f"/password-reset/{quote(uid, safe='')}/{quote(token, safe='')}/")

    assert join.status_code in (301, 302, 404)
    assert reset.status_code < 500
    assert _snapshot() == before
