"""The audit log page: who reads which events, in their zone and in words, filtered, paginated and exported,
the export and contact reads audited themselves, and its query count flat (issue 12, item 6)."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership
from tests.factories import ContactFactory, SessionFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Ann Admin")


def _event(actor, action, *, acting_for=None, at=None, obj=None, **details) -> AuditEvent:
    organization = (actor or acting_for).organization
    obj = obj or organization
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        acting_for=acting_for,
        action=action.value,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details,
        created_at=at or datetime.now(UTC),
    )


def _rows(response) -> list[int]:
    return [event.pk for event in response.context["page"]]


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_an_admin_reads_the_organisations_events_and_another_admin_none(client, admin, host, scheduler):
    mine = [
        _event(host, AuditAction.REMINDERS_UPDATE, acting_for=host, reminder_lead_minutes=[60]),
        _event(scheduler, AuditAction.ROOM_ADD, name="Blue room"),
    ]
    stranger = member(role=Membership.Role.ADMIN, full_name="Other Admin")
    theirs = _event(stranger, AuditAction.ROOM_ADD, name="Their room")

    client.force_login(admin)
    assert set(_rows(client.get(reverse("accounts:audit_log")))) == {e.pk for e in mine}
    client.force_login(stranger)
    assert _rows(client.get(reverse("accounts:audit_log"))) == [theirs.pk]


def test_a_host_reads_their_own_sessions_events_and_a_scheduler_what_they_did(
    client, host, other_host, scheduler
):
    session = SessionFactory(host=host)
    for_host = _event(scheduler, AuditAction.SESSION_CANCEL, acting_for=host, obj=session, reason="Ill")
    by_host = _event(host, AuditAction.CONTACT_VIEW)
    for_colleague = _event(scheduler, AuditAction.SESSION_CANCEL, acting_for=other_host, reason="Away")
    colleague_alone = _event(other_host, AuditAction.REMINDERS_UPDATE, acting_for=other_host)

    client.force_login(host)
    assert set(_rows(client.get(reverse("accounts:audit_log")))) == {for_host.pk, by_host.pk}
    client.force_login(scheduler)
    assert set(_rows(client.get(reverse("accounts:audit_log")))) == {for_host.pk, for_colleague.pk}
    assert colleague_alone.pk not in _rows(client.get(reverse("accounts:audit_log")))


def test_an_account_of_no_organisation_has_no_audit_log(client, django_user_model):
    superuser = django_user_model.objects.create_superuser("root@example.test", "x-secret-123")
    client.force_login(superuser)

    assert client.get(reverse("accounts:audit_log")).status_code == 404
    assert client.get(reverse("accounts:audit_log_csv")).status_code == 404


def test_the_details_are_words_in_the_readers_zone_with_names(client, admin, host, other_host):
    admin.time_zone = "Asia/Tokyo"
    admin.save()
    session = SessionFactory(host=host, title="Therapy with Pat")
    _event(
        admin,
        AuditAction.SESSION_RESCHEDULE,
        acting_for=host,
        obj=session,
        old_start="2026-03-02T09:00:00+00:00",
        new_start="2026-03-03T10:30:00+00:00",
        reason="Clash",
        notify=True,
        sessions=[session.pk],
    )
    _event(
        admin,
        AuditAction.SESSION_REASSIGN,
        acting_for=other_host,
        previous_host=host.pk,
        new_host=other_host.pk,
    )
    _event(
        admin,
        AuditAction.MEMBER_ROLE_CHANGE,
        member=host.pk,
        before={"role": "host", "admin_hosts": False},
        after={"role": "admin", "admin_hosts": True},
    )
    _event(admin, AuditAction.ROOM_UPDATE, name="Green room", is_active=False)
    client.force_login(admin)

    page = client.get(reverse("accounts:audit_log")).content.decode()

    assert (
        "“Therapy with Pat”: From Mon 2 Mar 2026, 18:00 JST to Tue 3 Mar 2026, 19:30 JST. Reason: Clash. "
        "Participants told." in page
    )
    assert "From Dr Ada Host to Dr Ben Colleague" in page
    assert "Dr Ada Host: Role: Host → Admin; Also hosts: no → yes" in page
    assert "Name: Green room; Is active: no" in page
    assert "Session rescheduled" in page and "Role changed" in page
    assert "{&quot;" not in page and "{'" not in page
    assert "JST" in page


def test_filters_by_member_host_action_and_the_readers_days(client, admin, host, other_host, scheduler):
    admin.time_zone = "Asia/Tokyo"
    admin.save()
    # 20:00 UTC on 1 March is already 2 March in Tokyo.
    late = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    a = _event(scheduler, AuditAction.SESSION_CANCEL, acting_for=host, at=late)
    b = _event(scheduler, AuditAction.SESSION_CANCEL, acting_for=other_host, at=late - timedelta(hours=12))
    c = _event(host, AuditAction.REMINDERS_UPDATE, acting_for=host, at=late - timedelta(hours=12))
    client.force_login(admin)
    url = reverse("accounts:audit_log")

    assert set(_rows(client.get(url, {"member": scheduler.pk}))) == {a.pk, b.pk}
    assert _rows(client.get(url, {"host": other_host.pk})) == [b.pk]
    assert _rows(client.get(url, {"action": "reminders.update"})) == [c.pk]
    assert _rows(client.get(url, {"start": "2026-03-02", "end": "2026-03-02"})) == [a.pk]
    assert set(_rows(client.get(url, {"end": "2026-03-01"}))) == {b.pk, c.pk}
    stranger = member(role=Membership.Role.HOST)
    refused = client.get(url, {"member": stranger.pk})
    assert "member" in refused.context["form"].errors and _rows(refused) == []


def test_fifty_events_a_page(client, admin):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        _event(admin, AuditAction.ROOM_ADD, at=start + timedelta(minutes=n), name=f"Room {n}")
        for n in range(120)
    ]
    client.force_login(admin)

    first = client.get(reverse("accounts:audit_log"))
    last = client.get(reverse("accounts:audit_log"), {"page": 3})

    assert _rows(first) == [e.pk for e in reversed(events)][:50]
    assert _rows(last) == [e.pk for e in reversed(events)][100:]
    assert "Page 1 of 3" in first.content.decode()


def test_the_csv_holds_the_filtered_events_in_words_and_is_itself_recorded(client, admin, host):
    formula = member(role=Membership.Role.HOST, organization=admin.organization, full_name="=HYPERLINK(1)")
    _event(
        admin, AuditAction.ROOM_ADD, acting_for=formula, at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC), name="A"
    )
    _event(host, AuditAction.REMINDERS_UPDATE, acting_for=host, reminder_lead_minutes=[1440, 60])
    client.force_login(admin)

    response = client.get(reverse("accounts:audit_log_csv"), {"action": "room.add", "member": admin.pk})

    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = _csv(response)
    assert rows[0] == ["Date", "Time", "Time zone", "Who", "Acting for", "What", "Details"]
    # A name a spreadsheet would run as a formula is written as text.
    assert rows[1:] == [
        [
            "2026-07-01",
            "13:00:00",
            "BST (Europe/London)",
            "Ann Admin",
            "'=HYPERLINK(1)",
            "Room added",
            "Name: A",
        ]
    ]
    export = AuditEvent.objects.get(action=AuditAction.AUDIT_LOG_EXPORT.value)
    assert export.actor == admin
    assert export.details == {"filters": {"member": admin.pk, "action": "room.add"}}
    page = client.get(reverse("accounts:audit_log"), {"action": "audit.export"}).content.decode()
    assert "Filters: Member: Ann Admin; Action: Room added" in page


def test_a_csv_with_invalid_filters_is_refused_and_not_recorded(client, admin):
    client.force_login(admin)

    response = client.get(reverse("accounts:audit_log_csv"), {"start": "9999-12-31"})

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_LOG_EXPORT.value).exists()


def test_reading_a_contact_and_exporting_the_address_book_are_audited(client, host):
    contact = ContactFactory(organization=host.organization, name="Pat Client")
    client.force_login(host)

    assert client.get(reverse("contacts:detail", kwargs={"pk": contact.pk})).status_code == 200
    b"".join(client.get(reverse("contacts:export_csv")).streaming_content)

    view = AuditEvent.objects.get(action=AuditAction.CONTACT_VIEW.value)
    assert (view.actor, view.object_type, view.object_id) == (host, "contacts.contact", str(contact.pk))
    export = AuditEvent.objects.get(action=AuditAction.CONTACTS_EXPORT.value)
    assert (export.actor, export.organization) == (host, host.organization)
    page = client.get(reverse("accounts:audit_log")).content.decode()
    assert "Contact viewed" in page and "Pat Client" in page and "Address book exported" in page


def test_a_stranger_reading_a_contact_is_refused_and_records_nothing(client, host):
    contact = ContactFactory(organization=host.organization)
    client.force_login(member(role=Membership.Role.HOST))

    assert client.get(reverse("contacts:detail", kwargs={"pk": contact.pk})).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.CONTACT_VIEW.value).exists()


def _many_events(admin, host, other_host, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        session = SessionFactory(host=host, start_at=datetime(2026, 5, 1, tzinfo=UTC) + timedelta(hours=n))
        _event(
            admin,
            AuditAction.SESSION_REASSIGN,
            acting_for=other_host,
            obj=session,
            previous_host=host.pk,
            new_host=other_host.pk,
        )
        _event(admin, AuditAction.MEMBER_HOSTS_SET, member=host.pk, bookable_hosts=[host.pk, other_host.pk])
        _event(host, AuditAction.CONTACT_VIEW, obj=ContactFactory(organization=host.organization))


def test_the_page_and_the_csv_take_the_same_queries_however_many_events(client, admin, host, other_host):
    client.force_login(admin)
    _many_events(admin, host, other_host, 3)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("accounts:audit_log"))
    with CaptureQueriesContext(connection) as small_csv:
        b"".join(client.get(reverse("accounts:audit_log_csv")).streaming_content)

    _many_events(admin, host, other_host, 30, first=3)
    with CaptureQueriesContext(connection) as large:
        page = client.get(reverse("accounts:audit_log")).content.decode()
    with CaptureQueriesContext(connection) as large_csv:
        rows = _csv(client.get(reverse("accounts:audit_log_csv")))

    assert page.count("data-event-id=") == 50
    assert len(rows) == 1 + 99 + 2  # the header, the events and the two exports
    assert len(large) == len(small)
    assert len(large_csv) == len(small_csv)
