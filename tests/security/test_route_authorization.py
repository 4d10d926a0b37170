"""Every URL of the project that names an object by its id, asked for by someone that object is not for.

The routes are read from the URL resolver itself, so a new route that takes an object id fails
`test_every_route_that_takes_an_object_id_is_in_the_table` until it is added to ROUTES (or, with a reason,
to EXCLUDED): nobody can add a page that loads an object by id without this test asking it as a stranger.

Each route is asked with GET and POST (the POST with data the view would accept from its owner, so a
missing scope check would really write) by:
- a host of another organisation,
- a scheduler of another organisation, acting for a host of their own,
- a participant of the session, who holds the join cookie from their link but has no account.
The first two must get a 404 (DESIGN.md rule 4: nothing outside the scope is even said to exist); the
participant is sent to log in (or refused); and nothing is written.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, User
from accounts.services import InvitationDetails, invitation_create
from billing.models import Service
from contacts.models import Contact
from documents.models import Document, DocumentField, Packet, PacketDocument, Submission, SubmissionFile
from notifications.models import Notification
from sessions_app.join.links import join_token
from sessions_app.models import BlockedSlot, DocumentsShown, Participant, Room, Session, WorkingHours
from tests.factories import ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db

# Route-name prefixes left out, and why.
EXCLUDED_PREFIXES = {
    "admin:": "Django's admin: staff only, behind its own login and model permissions.",
    "anymail:": "The email provider's webhooks: no object ids, authenticated by the provider's signature.",
}
# Single routes whose id-like argument is not looked up on its own, and why.
EXCLUDED = {
    "password_reset_confirm": (
        "Django's password reset: the uidb64 only counts together with a per-user HMAC token, and any "
        "visitor may open the page (it says the link is invalid)."
    ),
}


@dataclass
class World:
    """One organisation's things (the objects asked for) and the strangers who ask."""

    host: object
    colleague: object
    scheduler: object
    session: Session
    participant: Participant
    room: Room
    closed_room: Room
    hours: WorkingHours
    block: BlockedSlot
    # The organisation's documents: `participant` is shown none of them, `filler` all (and submitted one).
    document: Document
    field: DocumentField
    packet: Packet
    filler: Participant
    submission: Submission
    stored_file: SubmissionFile
    # A service the organisation charges for.
    service: Service
    # The organisation's admin, who runs its Team page.
    admin: object = None


@dataclass(frozen=True)
class Route:
    kwargs: Callable[[World], dict]
    # What the owner would post to get the change made.
    data: Callable[[World], dict] = lambda world: {}
    # Who may open it (the control that the kwargs name a real object): "host", "scheduler", "admin", or
    # "participant" (the world's `filler`, through their join cookie).
    owner: str = "host"


def _session(world: World) -> dict:
    return {"pk": world.session.pk}


def _participant(world: World) -> dict:
    return {"pk": world.session.pk, "participant_pk": world.participant.pk}


def _tomorrow(world: World) -> dict:
    local = (world.session.start_at + timedelta(days=1)).astimezone(world.host.zone)
    return {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}"}


def _document(world: World) -> dict:
    return {"pk": world.document.pk}


def _document_field(world: World) -> dict:
    return {"pk": world.document.pk, "field_pk": world.field.pk}


def _new_person(world: World) -> dict:
    return {"name": "Intruder", "invite_method": "email", "email": "x@example.test", "time_zone": "UTC"}


def _contact(world: World) -> dict:
    # A contact of the organisation on no session, so nothing but the scope check stops a change to it.
    contact, _ = Contact.objects.get_or_create(
        organization=world.host.organization, email="private@example.test", defaults={"name": "Private"}
    )
    return {"pk": contact.pk}


def _membership(user) -> dict:
    return {"pk": Membership.objects.get(user=user).pk}


def _invitation(world: World) -> dict:
    invitation = Invitation.objects.filter(email="invited@example.test").first() or invitation_create(
        actor=world.admin, details=InvitationDetails(email="invited@example.test", role=Membership.Role.HOST)
    )
    return {"pk": invitation.pk}


def _deactivated_member(world: World) -> dict:
    user = User.objects.filter(email="left@example.test").first() or member(
        role=Membership.Role.HOST,
        organization=world.host.organization,
        email="left@example.test",
        is_active=False,
    )
    return _membership(user)


ROUTES: dict[str, Route] = {
    "sessions:detail": Route(_session),
    "sessions:manage_menu": Route(_session),
    "sessions:connect": Route(_session),
    "sessions:video_room": Route(_session),
    "sessions:participant_add": Route(_session, _new_person),
    "sessions:participant_edit": Route(
        _participant,
        lambda w: {"invite_method": "email", "email": "attacker@example.test", "time_zone": "UTC"},
    ),
    "sessions:participant_remind": Route(_participant),
    "sessions:participant_remove": Route(_participant),
    "sessions:waiting_room": Route(_session),
    "sessions:participant_admit": Route(_participant),
    "sessions:participant_request_done": Route(_participant),
    "sessions:admit_all": Route(_session),
    "sessions:reschedule": Route(_session, lambda w: {**_tomorrow(w), "reason": "x", "notify": "on"}),
    "sessions:availability": Route(_session),
    "sessions:cancel": Route(_session, lambda w: {"reason": "Taken over"}),
    "sessions:remove": Route(_session),
    "sessions:schedule_next": Route(_session, lambda w: {**_tomorrow(w), "title": "Next"}),
    "sessions:change_end": Route(
        _session,
        lambda w: {"end_time": f"{(w.session.end_at + timedelta(minutes=30)).astimezone(w.host.zone):%H:%M}"},
    ),
    "sessions:no_show": Route(_session, lambda w: {"whole_session": "on"}),
    "sessions:reassign": Route(_session, lambda w: {"new_host": w.colleague.pk}),
    "sessions:working_hours_remove": Route(lambda w: {"pk": w.hours.pk}),
    "sessions:blocked_slot_delete": Route(lambda w: {"pk": w.block.pk}),
    "sessions:room_rename": Route(
        lambda w: {"pk": w.room.pk}, lambda w: {f"room-{w.room.pk}-name": "Taken"}, owner="scheduler"
    ),
    "sessions:room_deactivate": Route(lambda w: {"pk": w.room.pk}, owner="scheduler"),
    "sessions:room_activate": Route(lambda w: {"pk": w.closed_room.pk}, owner="scheduler"),
    "accounts:act_for": Route(lambda w: {"host_id": w.host.pk}, owner="scheduler"),
    "accounts:invitation_resend": Route(_invitation, owner="admin"),
    "accounts:invitation_revoke": Route(_invitation, owner="admin"),
    "accounts:member_role": Route(
        lambda w: _membership(w.colleague), lambda w: {"role": "admin", "admin_hosts": "on"}, owner="admin"
    ),
    "accounts:member_hosts": Route(
        lambda w: _membership(w.scheduler),
        lambda w: {"books_for": "chosen", "bookable_hosts": [w.colleague.pk]},
        owner="admin",
    ),
    "accounts:member_deactivate": Route(
        lambda w: _membership(w.host),
        lambda w: {"upcoming": "cancel", "cancel_reason": "Gone"},
        owner="admin",
    ),
    "accounts:member_reactivate": Route(_deactivated_member, owner="admin"),
    "contacts:detail": Route(_contact),
    "contacts:edit": Route(
        _contact,
        lambda w: {"name": "Taken", "email": "x@ex.test", "preferred_method": "email", "time_zone": "UTC"},
    ),
    "contacts:delete": Route(_contact),
    "contacts:export_data": Route(_contact),
    "contacts:erase": Route(_contact),
    "documents:document_edit": Route(_document, lambda w: {"title": "Taken", "is_active": "on"}),
    "documents:document_delete": Route(_document),
    "documents:field_add": Route(_document, lambda w: {"kind": "short_text", "label": "Injected"}),
    "documents:field_edit": Route(_document_field, lambda w: {"kind": "short_text", "label": "Taken"}),
    "documents:field_move": Route(_document_field, lambda w: {"direction": "down"}),
    "documents:field_remove": Route(_document_field),
    "documents:packet_edit": Route(
        lambda w: {"pk": w.packet.pk}, lambda w: {"name": "Taken", f"document_{w.document.pk}": "1"}
    ),
    "documents:packet_delete": Route(lambda w: {"pk": w.packet.pk}),
    "documents:submission_detail": Route(lambda w: {"pk": w.submission.pk}),
    "documents:submission_print": Route(lambda w: {"pk": w.submission.pk}),
    "documents:submission_file": Route(lambda w: {"pk": w.stored_file.pk}),
    "billing:service_edit": Route(
        lambda w: {"pk": w.service.pk},
        lambda w: {"name": "Taken", "price": "1.00", "currency": "usd", "duration_minutes": "30"},
    ),
    "billing:service_deactivate": Route(lambda w: {"pk": w.service.pk}),
    "join:document": Route(
        lambda w: {"document_pk": w.document.pk},
        lambda w: {f"field_{w.field.pk}": "Intruder", "action": "submit"},
        owner="participant",
    ),
}


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "", converters=None):
    """(route name, route text, {argument: converter}) for every pattern, through every include."""
    for pattern in resolver.url_patterns:
        found = {**(converters or {}), **getattr(pattern.pattern, "converters", {})}
        found.update({name: None for name in pattern.pattern.regex.groupindex if name not in found})
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner, found)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern), found


_ID_NAME = re.compile(r"(^|_)(pk|id)$|uid")


def _takes_object_id(arguments: dict) -> bool:
    return any(
        isinstance(converter, IntConverter | UUIDConverter) or _ID_NAME.search(name)
        for name, converter in arguments.items()
    )


def routes_with_object_ids() -> set[str]:
    return {
        name
        for name, _route, arguments in _walk(get_resolver())
        if _takes_object_id(arguments) and not name.startswith(tuple(EXCLUDED_PREFIXES))
    }


def test_every_route_that_takes_an_object_id_is_in_the_table():
    found = routes_with_object_ids()
    missing = found - set(ROUTES) - set(EXCLUDED)
    assert not missing, f"Routes taking an object id that ROUTES does not cover: {sorted(missing)}"
    stale = (set(ROUTES) | set(EXCLUDED)) - found
    assert not stale, f"Entries for routes that no longer take an object id: {sorted(stale)}"


def test_the_walk_sees_ids_inside_includes():
    # The walk itself must find the ids of included URLconfs, or the test above would pass on nothing.
    assert {"sessions:participant_edit", "accounts:act_for", "password_reset_confirm"} <= (
        routes_with_object_ids() | set(EXCLUDED)
    )
    assert "join:enter" not in routes_with_object_ids()  # a secret token, covered by test_join_links


# The world and the strangers ------------------------------------------------------------------------------


@pytest.fixture
def world(host, other_host, scheduler, organization, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    # Starting in two minutes: the host could connect, cancel is still offered, every action is open.
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2), title="Private")
    room = Room.objects.create(organization=organization, name="Blue room")
    closed_room = Room.objects.create(organization=organization, name="Old room", is_active=False)
    session.room = room
    session.save(update_fields=["room"])
    document = Document.objects.create(organization=organization, title="Intake")
    field = DocumentField.objects.create(document=document, kind=DocumentField.Kind.SHORT_TEXT, label="Name")
    packet = Packet.objects.create(organization=organization, name="First visit")
    PacketDocument.objects.create(packet=packet, document=document)
    filler = ParticipantFactory(session=session, name="Filler", email="filler@example.test")
    submission = Submission.objects.create(
        organization=organization,
        participant=filler,
        document=document,
        status=Submission.Status.SUBMITTED,
        submitted_at=timezone.now(),
        answers={str(field.pk): "Private"},
    )
    stored_file = SubmissionFile(
        submission=submission,
        field=field,
        token="t" * 43,
        original_name="card.pdf",
        content_type="application/pdf",
        size=9,
    )
    stored_file.file.save(stored_file.token, ContentFile(b"%PDF-1.7\n"), save=False)
    stored_file.save()
    return World(
        host=host,
        colleague=other_host,
        scheduler=scheduler,
        session=session,
        participant=ParticipantFactory(
            session=session, name="Maria", email="maria@example.test", documents_shown=DocumentsShown.NONE
        ),
        room=room,
        closed_room=closed_room,
        hours=WorkingHours.objects.create(host=host, weekday=0, start_time=time(9), end_time=time(17)),
        block=BlockedSlot.objects.create(
            host=host,
            start_at=timezone.now() + timedelta(days=3),
            end_at=timezone.now() + timedelta(days=3, hours=2),
            note="Private",
        ),
        document=document,
        field=field,
        packet=packet,
        filler=filler,
        submission=submission,
        stored_file=stored_file,
        service=Service.objects.create(organization=organization, name="Consultation", price_amount=8000),
        admin=member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin"),
    )


def _foreign_host(world: World) -> Client:
    client = Client()
    client.force_login(member(role=Membership.Role.HOST, full_name="Foreign Host"))
    return client


def _foreign_scheduler(world: World) -> Client:
    scheduler = member(role=Membership.Role.SCHEDULER, full_name="Foreign Scheduler")
    own_host = member(role=Membership.Role.HOST, organization=scheduler.organization, full_name="Their Host")
    client = Client()
    client.force_login(scheduler)
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": own_host.pk})).status_code == 302
    return client


def _participant_with_cookie(world: World, participant: Participant | None = None) -> Client:
    client = Client()
    response = client.get(
        reverse("join:enter", kwargs={"token": join_token(participant or world.participant)})
    )
    assert response.status_code == 302 and client.cookies
    return client


def _foreign_admin(world: World) -> Client:
    """Another organisation's admin (who also hosts), acting for a host of their own: every admin page of
    theirs exists, but names nothing of ours."""
    admin = member(role=Membership.Role.ADMIN, full_name="Foreign Admin")
    Membership.objects.filter(user=admin).update(admin_hosts=True)
    own_host = member(role=Membership.Role.HOST, organization=admin.organization, full_name="Their Own Host")
    client = Client()
    client.force_login(admin)
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": own_host.pk})).status_code == 302
    return client


STRANGERS = {
    "foreign_host": _foreign_host,
    "foreign_scheduler": _foreign_scheduler,
    "foreign_admin": _foreign_admin,
    "participant_with_join_cookie": _participant_with_cookie,
}


def _snapshot(world: World) -> dict:
    """Everything a stranger's request could change: the counts, and the fields of the objects asked for."""
    session = Session.objects.get(pk=world.session.pk)
    participant = Participant.objects.get(pk=world.participant.pk)
    return {
        "counts": [
            model.objects.count()
            for model in (
                Session,
                Participant,
                Notification,
                AuditEvent,
                Contact,
                Room,
                WorkingHours,
                BlockedSlot,
                Document,
                DocumentField,
                Packet,
                PacketDocument,
                Submission,
                SubmissionFile,
                Service,
            )
        ],
        "session": [
            getattr(session, field)
            for field in (
                "status",
                "host_id",
                "start_at",
                "end_at",
                "no_show",
                "host_connected_at",
                "video_room_name",
                "calendar_sequence",
                "updated_at",
            )
        ],
        "participant": [
            getattr(participant, field)
            for field in (
                "removed_at",
                "link_version",
                "email",
                "invite_method",
                "time_zone",
                "no_show",
                "waiting_since",
                "admitted_at",
            )
        ],
        "rooms": list(Room.objects.order_by("pk").values_list("name", "is_active")),
        "documents": list(Document.objects.order_by("pk").values_list("title", "is_active", "updated_at")),
        "fields": list(DocumentField.objects.order_by("pk").values_list("label", "kind", "position")),
        "packets": list(PacketDocument.objects.order_by("pk").values_list("packet__name", "document_id")),
        "submissions": list(Submission.objects.order_by("pk").values_list("status", "answers", "updated_at")),
        "services": list(Service.objects.order_by("pk").values_list("name", "price_amount", "is_active")),
        "team": [
            list(Membership.objects.order_by("pk").values_list("role", "admin_hosts", "books_for_all_hosts")),
            list(
                Membership.bookable_hosts.through.objects.order_by("pk").values_list(
                    "membership_id", "user_id"
                )
            ),
            list(User.objects.order_by("pk").values_list("is_active", flat=True)),
            list(Invitation.objects.order_by("pk").values_list("token_hash", "expires_at", "revoked_at")),
        ],
    }


def _refused(stranger: str, response) -> bool:
    if stranger != "participant_with_join_cookie":
        return response.status_code == 404
    if response.status_code == 302:
        return response["Location"].startswith(reverse("login") + "?next=")
    return response.status_code in (403, 404)


@pytest.mark.parametrize("stranger", list(STRANGERS))
@pytest.mark.parametrize("name", list(ROUTES))
def test_a_stranger_gets_nothing_from_a_route_that_takes_an_object_id(world, name, stranger):
    route = ROUTES[name]
    url = reverse(name, kwargs=route.kwargs(world))
    client = STRANGERS[stranger](world)
    before = _snapshot(world)

    for verb, data in (("get", {}), ("post", route.data(world))):
        response = getattr(client, verb)(url, data)
        assert _refused(stranger, response), (
            f"{verb.upper()} {url} as {stranger}: {response.status_code} {response.get('Location', '')}"
        )
        assert _snapshot(world) == before, f"{verb.upper()} {url} as {stranger} wrote something"


@pytest.mark.parametrize("name", list(ROUTES))
def test_the_tables_objects_are_real_the_owner_is_not_refused(client, world, name):
    route = ROUTES[name]
    if route.owner == "participant":
        client = _participant_with_cookie(world, world.filler)
    else:
        client.force_login(
            {"host": world.host, "scheduler": world.scheduler, "admin": world.admin}[route.owner]
        )
    if route.owner == "scheduler":
        client.post(reverse("accounts:act_for", kwargs={"host_id": world.host.pk}))
    # A GET the view does not take is a 405, said only once the object was found in the owner's scope.
    assert client.get(reverse(name, kwargs=route.kwargs(world))).status_code != 404
