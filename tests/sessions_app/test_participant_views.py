"""Participant actions through HTTP, as a host and as a scheduler acting for one: the database, the audit
log and the notices they leave, and the 404 for everyone outside the session's scope."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from contacts.models import Contact, InviteMethod
from notifications.models import Notification
from sessions_app.join.links import join_url
from sessions_app.models import Session
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(host):
    return SessionFactory(host=host, title="Follow-up review")


@pytest.fixture
def contact(host):
    return ContactFactory(
        organization=host.organization, name="Pat Client", email="pat@example.test", time_zone="Europe/Paris"
    )


@pytest.fixture
def participant(session, contact):
    return ParticipantFactory(
        session=session,
        contact=contact,
        name="Pat Client",
        email="pat@example.test",
        time_zone="Europe/Paris",
    )


def _url(name: str, participant) -> str:
    return reverse(name, kwargs={"pk": participant.session_id, "participant_pk": participant.pk})


def _add_url(session) -> str:
    return reverse("sessions:participant_add", kwargs={"pk": session.pk})


def _detail_url(session) -> str:
    return reverse("sessions:detail", kwargs={"pk": session.pk})


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _act_for(client, scheduler, host) -> None:
    client.force_login(scheduler)
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk})).status_code == 302


def _new_person(**fields) -> dict:
    return {
        "name": "Kim New",
        "invite_method": InviteMethod.EMAIL,
        "email": "kim@example.test",
        "phone": "",
        "time_zone": "America/New_York",
        "contact_id": "",
        **fields,
    }


def _join_path(participant) -> str:
    return urlsplit(join_url(participant)).path


# Add


def test_host_adds_a_new_person_who_becomes_a_contact_and_is_sent_an_invite(client, host, session):
    client.force_login(host)
    response = client.post(_add_url(session), _new_person())

    assert response.status_code == 302 and response["Location"] == _detail_url(session)
    added = session.participants.get(name="Kim New")
    assert (added.email, added.time_zone, added.invite_method) == (
        "kim@example.test",
        "America/New_York",
        "email",
    )
    assert added.contact.organization == host.organization
    assert (added.contact.name, added.contact.email) == ("Kim New", "kim@example.test")
    invite = Notification.objects.get(participant=added, kind=Notification.Kind.INVITE)
    assert (invite.channel, invite.recipient) == ("email", "kim@example.test")
    event = AuditEvent.objects.get(action="participant.add")
    assert (event.actor, event.acting_for, event.object_id) == (host, host, str(added.pk))
    assert _messages(response) == ["Kim New is added. Their invite is on its way."]


def test_add_with_a_picked_contact_links_that_contact_and_creates_no_new_one(client, host, session, contact):
    client.force_login(host)
    response = client.post(
        _add_url(session),
        _new_person(
            name=contact.name, email=contact.email, time_zone=contact.time_zone, contact_id=contact.pk
        ),
    )

    assert response.status_code == 302
    assert session.participants.get().contact == contact
    assert Contact.objects.count() == 1


def test_add_ignores_a_contact_id_from_another_organisation(client, host, session):
    foreign = ContactFactory(name="Kim New", email="kim@example.test")
    client.force_login(host)
    client.post(_add_url(session), _new_person(contact_id=foreign.pk))

    linked = session.participants.get().contact
    assert linked != foreign
    assert linked.organization == host.organization


def test_add_form_asks_in_the_hosts_time_zone_by_default(client, host, session):
    host.time_zone = "Asia/Tokyo"
    host.save(update_fields=["time_zone"])
    client.force_login(host)
    response = client.get(_add_url(session))

    assert response.status_code == 200
    assert response.context["form"]["time_zone"].value() == "Asia/Tokyo"
    content = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in content
    assert f'data-contact-autofill="{reverse("contacts:autocomplete")}"' in content
    assert 'name="contact_id"' in content


def test_add_without_an_email_keeps_the_input_and_sends_nothing(client, host, session):
    client.force_login(host)
    response = client.post(_add_url(session), _new_person(email=""))

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Enter an email address to send the invite to."]
    assert response.context["form"]["name"].value() == "Kim New"
    assert not session.participants.exists()
    assert not Notification.objects.exists()


def test_add_to_a_cancelled_session_shows_the_services_message(client, host, session):
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    client.force_login(host)
    response = client.post(_add_url(session), _new_person())

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This session was cancelled."]
    assert "This session was cancelled." in response.content.decode()
    assert not session.participants.exists()


def test_scheduler_acting_for_the_host_adds_a_participant(client, host, scheduler, session):
    _act_for(client, scheduler, host)
    response = client.post(
        _add_url(session), _new_person(invite_method=InviteMethod.SMS, phone="+447911123456")
    )

    assert response.status_code == 302
    added = session.participants.get()
    assert str(added.phone) == "+447911123456"
    assert Notification.objects.get(participant=added, kind=Notification.Kind.INVITE).channel == "sms"
    event = AuditEvent.objects.get(action="participant.add")
    assert (event.actor, event.acting_for) == (scheduler, host)


def test_add_with_no_invite_says_the_link_must_be_shared(client, host, session):
    client.force_login(host)
    response = client.post(_add_url(session), _new_person(invite_method=InviteMethod.NONE, email=""))

    assert response.status_code == 302
    assert not Notification.objects.filter(kind=Notification.Kind.INVITE).exists()
    assert _messages(response) == ["Kim New is added. No invite is sent: share their join link yourself."]


# Edit


def test_host_edits_method_and_phone_and_the_contact_follows(client, host, participant, contact):
    client.force_login(host)
    response = client.post(
        _url("sessions:participant_edit", participant),
        {
            "invite_method": "sms",
            "email": "pat@example.test",
            "phone": "+447911123456",
            "time_zone": "Asia/Tokyo",
        },
    )

    assert response.status_code == 302 and response["Location"] == _detail_url(participant.session)
    participant.refresh_from_db()
    contact.refresh_from_db()
    assert (participant.invite_method, str(participant.phone), participant.time_zone) == (
        "sms",
        "+447911123456",
        "Asia/Tokyo",
    )
    assert (contact.preferred_method, str(contact.phone), contact.time_zone) == (
        "sms",
        "+447911123456",
        "Asia/Tokyo",
    )
    event = AuditEvent.objects.get(action="participant.update")
    assert (event.actor, event.acting_for) == (host, host)
    assert event.details["before"]["invite_method"] == "email"
    assert event.details["link_revoked"] is True
    assert _messages(response) == [
        "Pat Client's details are saved. Messages not yet sent go to the new address."
    ]


def test_edit_page_shows_the_current_details_and_no_name_field(client, host, participant):
    client.force_login(host)
    response = client.get(_url("sessions:participant_edit", participant))

    assert response.status_code == 200
    form = response.context["form"]
    assert "name" not in form.fields
    assert (form["invite_method"].value(), form["email"].value(), form["time_zone"].value()) == (
        "email",
        "pat@example.test",
        "Europe/Paris",
    )
    content = response.content.decode()
    assert "The name is changed on " in content and ">the contact page</a>." in content
    assert 'name="csrfmiddlewaretoken"' in content


def test_edit_to_sms_without_a_phone_keeps_the_input_and_changes_nothing(client, host, participant):
    client.force_login(host)
    response = client.post(
        _url("sessions:participant_edit", participant),
        {"invite_method": "sms", "email": "pat@example.test", "phone": "", "time_zone": "Asia/Tokyo"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == ["Enter a mobile number to send the invite to."]
    assert response.context["form"]["time_zone"].value() == "Asia/Tokyo"
    participant.refresh_from_db()
    assert (participant.invite_method, participant.time_zone) == ("email", "Europe/Paris")
    assert not AuditEvent.objects.filter(action="participant.update").exists()


def test_scheduler_acting_for_the_host_edits_a_participant(client, host, scheduler, participant, contact):
    _act_for(client, scheduler, host)
    response = client.post(
        _url("sessions:participant_edit", participant),
        {"invite_method": "email", "email": "pat.new@example.test", "phone": "", "time_zone": "Europe/Paris"},
    )

    assert response.status_code == 302
    participant.refresh_from_db()
    contact.refresh_from_db()
    assert participant.email == contact.email == "pat.new@example.test"
    event = AuditEvent.objects.get(action="participant.update")
    assert (event.actor, event.acting_for) == (scheduler, host)


# Remind


def test_host_reminds_a_participant_now(client, host, participant):
    client.force_login(host)
    response = client.post(_url("sessions:participant_remind", participant))

    assert response.status_code == 302 and response["Location"] == _detail_url(participant.session)
    notice = Notification.objects.get(participant=participant, kind=Notification.Kind.REMIND)
    assert (notice.channel, notice.recipient) == ("email", "pat@example.test")
    event = AuditEvent.objects.get(action="participant.remind")
    assert (event.actor, event.acting_for) == (host, host)
    assert _messages(response) == ["A reminder is on its way to Pat Client."]


def test_remind_twice_within_a_minute_shows_the_throttle_message_and_sends_once(client, host, participant):
    client.force_login(host)
    client.post(_url("sessions:participant_remind", participant))
    response = client.post(_url("sessions:participant_remind", participant), follow=True)

    assert (
        "Pat Client was reminded less than a minute ago. Please wait a moment." in response.content.decode()
    )
    assert Notification.objects.filter(participant=participant, kind=Notification.Kind.REMIND).count() == 1
    assert AuditEvent.objects.filter(action="participant.remind").count() == 1


def test_scheduler_acting_for_the_host_reminds_a_participant(client, host, scheduler, participant):
    _act_for(client, scheduler, host)
    response = client.post(_url("sessions:participant_remind", participant))

    assert response.status_code == 302
    assert Notification.objects.filter(participant=participant, kind=Notification.Kind.REMIND).count() == 1
    event = AuditEvent.objects.get(action="participant.remind")
    assert (event.actor, event.acting_for) == (scheduler, host)


def test_remind_is_a_post_only(client, host, participant):
    client.force_login(host)
    assert client.get(_url("sessions:participant_remind", participant)).status_code == 405
    assert not Notification.objects.filter(kind=Notification.Kind.REMIND).exists()


def test_remind_of_someone_who_gets_no_messages_says_so(client, host, session):
    quiet = ParticipantFactory(session=session, name="Quiet One", invite_method=InviteMethod.NONE, email="")
    client.force_login(host)
    response = client.post(_url("sessions:participant_remind", quiet))

    assert response.status_code == 302
    assert _messages(response) == ["Quiet One is set to receive no messages. Edit their method first."]
    assert not Notification.objects.exists()


# Remove


def test_remove_asks_for_confirmation_first(client, host, participant):
    client.force_login(host)
    response = client.get(_url("sessions:participant_remove", participant))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Remove Pat Client from this session?" in content
    assert "Their join link stops working at once." in content
    assert "(pat@example.test) that the invitation was withdrawn" in content
    assert 'name="csrfmiddlewaretoken"' in content
    participant.refresh_from_db()
    assert participant.removed_at is None


def test_host_removes_a_participant_whose_link_stops_working_and_who_is_told(client, host, participant):
    old_link = _join_path(participant)
    assert client.get(old_link).status_code == 302
    client.force_login(host)
    response = client.post(_url("sessions:participant_remove", participant))

    assert response.status_code == 302 and response["Location"] == _detail_url(participant.session)
    participant.refresh_from_db()
    assert participant.removed_at is not None
    notice = Notification.objects.get(participant=participant, kind=Notification.Kind.REMOVED)
    assert notice.recipient == "pat@example.test"
    event = AuditEvent.objects.get(action="participant.remove")
    assert (event.actor, event.acting_for) == (host, host)
    assert _messages(response) == ["Pat Client is removed from “Follow-up review”."]
    assert client.get(old_link).status_code == 404
    assert client.get(_detail_url(participant.session)).context["participants"] == []


def test_scheduler_acting_for_the_host_removes_a_participant(client, host, scheduler, participant):
    old_link = _join_path(participant)
    _act_for(client, scheduler, host)
    response = client.post(_url("sessions:participant_remove", participant))

    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.removed_at is not None
    assert Notification.objects.filter(participant=participant, kind=Notification.Kind.REMOVED).count() == 1
    event = AuditEvent.objects.get(action="participant.remove")
    assert (event.actor, event.acting_for) == (scheduler, host)
    assert client.get(old_link).status_code == 404


@pytest.mark.parametrize(
    "name", ["sessions:participant_edit", "sessions:participant_remind", "sessions:participant_remove"]
)
def test_a_removed_participant_has_no_actions_left(client, host, participant, name):
    client.force_login(host)
    client.post(_url("sessions:participant_remove", participant))
    assert client.post(_url(name, participant)).status_code == 404


# Going back


def test_a_local_next_url_is_where_the_action_returns(client, host, participant):
    client.force_login(host)
    response = client.post(_url("sessions:participant_remind", participant), {"next": "/?day=today"})
    assert response["Location"] == "/?day=today"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_a_next_url_elsewhere_is_ignored_for_the_session_page(client, host, participant, next_url):
    client.force_login(host)
    response = client.post(_url("sessions:participant_remind", participant), {"next": next_url})
    assert response["Location"] == _detail_url(participant.session)


# Scope: checked before the method, for every action and verb

ACTIONS = [
    ("get", "sessions:participant_add"),
    ("post", "sessions:participant_add"),
    ("get", "sessions:participant_edit"),
    ("post", "sessions:participant_edit"),
    ("get", "sessions:participant_remind"),
    ("post", "sessions:participant_remind"),
    ("get", "sessions:participant_remove"),
    ("post", "sessions:participant_remove"),
    ("put", "sessions:participant_remove"),
]


def _action_url(name: str, participant) -> str:
    if name == "sessions:participant_add":
        return _add_url(participant.session)
    return _url(name, participant)


def _assert_untouched(participant, participants_before: int) -> None:
    participant.refresh_from_db()
    assert participant.removed_at is None
    assert participant.invite_method == "email"
    assert participant.session.participants.count() == participants_before
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="participant.").exists()


def _post_data(name: str) -> dict:
    if name == "sessions:participant_add":
        return _new_person()
    return {"invite_method": "sms", "phone": "+447911123456", "email": "", "time_zone": "UTC"}


@pytest.mark.parametrize(("verb", "name"), ACTIONS)
def test_another_host_gets_404_for_every_action_and_verb(client, other_host, participant, verb, name):
    client.force_login(other_host)
    response = getattr(client, verb)(_action_url(name, participant), _post_data(name))
    assert response.status_code == 404
    _assert_untouched(participant, 1)


@pytest.mark.parametrize(("verb", "name"), ACTIONS)
def test_scheduler_of_another_organisation_gets_404_for_every_action_and_verb(
    client, outsider_scheduler, participant, verb, name
):
    client.force_login(outsider_scheduler)
    response = getattr(client, verb)(_action_url(name, participant), _post_data(name))
    assert response.status_code == 404
    _assert_untouched(participant, 1)


@pytest.mark.parametrize(("verb", "name"), ACTIONS)
def test_anonymous_is_sent_to_log_in_for_every_action(client, participant, verb, name):
    url = _action_url(name, participant)
    response = getattr(client, verb)(url, _post_data(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    _assert_untouched(participant, 1)


@pytest.mark.parametrize(
    "name", ["sessions:participant_edit", "sessions:participant_remind", "sessions:participant_remove"]
)
def test_a_participant_of_another_session_is_404_even_for_its_own_host(client, host, participant, name):
    other_session = SessionFactory(
        host=host, title="Another", start_at=participant.session.end_at + timedelta(hours=1)
    )
    client.force_login(host)
    url = reverse(name, kwargs={"pk": other_session.pk, "participant_pk": participant.pk})
    assert client.post(url, _post_data(name)).status_code == 404
    _assert_untouched(participant, 1)


# The actions on the pages


def test_dashboard_and_session_page_offer_the_actions_under_each_participant(client, host, participant):
    client.force_login(host)
    for page in (reverse("sessions:dashboard"), _detail_url(participant.session)):
        content = client.get(page).content.decode()
        assert f'href="{_url("sessions:participant_edit", participant)}?next=' in content
        assert f'action="{_url("sessions:participant_remind", participant)}"' in content
        assert f'href="{_url("sessions:participant_remove", participant)}?next=' in content


def test_a_cancelled_session_offers_no_participant_actions(client, host, participant):
    Session.objects.filter(pk=participant.session_id).update(status=Session.Status.CANCELLED)
    client.force_login(host)
    content = client.get(_detail_url(participant.session)).content.decode()
    assert "Pat Client" in content
    assert _url("sessions:participant_edit", participant) not in content
    assert _url("sessions:participant_remind", participant) not in content


# The Schedule form's participant rows carry the contact the autofill picked


def test_schedule_form_links_the_contact_picked_by_the_autofill(client, host, contact):
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        {
            "title": "Intake",
            "date": f"{timezone.now() + timedelta(days=30):%Y-%m-%d}",
            "time": "10:00",
            "duration_minutes": "50",
            "participants-TOTAL_FORMS": "1",
            "participants-INITIAL_FORMS": "0",
            "participants-MIN_NUM_FORMS": "1",
            "participants-MAX_NUM_FORMS": "20",
            "participants-0-name": "Pat",
            "participants-0-invite_method": "email",
            "participants-0-email": "pat.other@example.test",
            "participants-0-time_zone": "Europe/Paris",
            "participants-0-contact_id": str(contact.pk),
        },
    )

    assert response.status_code == 302, response.context and response.context["form"].errors
    session = Session.objects.get(title="Intake")
    assert session.participants.get().contact == contact
    assert Contact.objects.count() == 1


def test_schedule_form_rows_offer_the_contact_autofill(client, host):
    client.force_login(host)
    content = client.get(reverse("sessions:schedule")).content.decode()
    assert f'data-contact-autofill="{reverse("contacts:autocomplete")}"' in content
    assert 'name="participants-0-contact_id"' in content


def test_the_add_link_leads_to_the_add_page_and_back_to_where_it_was_clicked(host, session):
    request = RequestFactory().get("/?view=week")
    request.user = host
    html = render_to_string("sessions_app/participants/_add_link.html", {"session": session}, request=request)
    assert f'href="{_add_url(session)}?next=/%3Fview%3Dweek"' in html
    assert "Add participant" in html

    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)
    session.refresh_from_db()
    assert "Add participant" not in render_to_string(
        "sessions_app/participants/_add_link.html", {"session": session}, request=request
    )
