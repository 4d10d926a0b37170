"""The working hours page over HTTP: hours and blocks, scoping, verbs and the planning pages' logins."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from sessions_app.models import BlockedSlot, WorkingHours
from sessions_app.services import blocked_slot_add, working_hours_add

pytestmark = pytest.mark.django_db

MONDAY = WorkingHours.Weekday.MONDAY


def _act_for(client, scheduler, host):
    client.force_login(scheduler)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = host.pk
    session.save()


def _set_zone(user, zone):
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


# Working hours page ---------------------------------------------------------------------------------------


def test_host_adds_and_removes_working_hours_on_the_working_hours(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:working_hours_add"),
        {"hours-weekday": "2", "hours-start_time": "09:00", "hours-end_time": "13:30"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("sessions:working_hours")
    hours = WorkingHours.objects.get(host=host)
    assert (hours.weekday, hours.start_time, hours.end_time) == (2, time(9), time(13, 30))
    page = client.get(reverse("sessions:working_hours")).content.decode()
    assert re.search(r'data-weekday="Wednesday">.*?09:00–13:30', page, re.S)

    response = client.post(reverse("sessions:working_hours_remove", kwargs={"pk": hours.pk}))
    assert response.status_code == 302
    assert not WorkingHours.objects.exists()
    assert AuditEvent.objects.filter(action="working_hours.remove", actor=host).exists()


def test_overlapping_hours_through_the_page_show_the_reason_and_keep_the_input(client, host):
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    client.force_login(host)
    response = client.post(
        reverse("sessions:working_hours_add"),
        {"hours-weekday": "0", "hours-start_time": "11:00", "hours-end_time": "15:00"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "overlaps the Monday hours 09:00–12:00" in content
    assert 'value="11:00"' in content and 'value="15:00"' in content
    assert WorkingHours.objects.count() == 1


def test_scheduler_acting_for_a_host_blocks_a_time_typed_in_the_hosts_zone(client, scheduler, host):
    _set_zone(host, "America/New_York")
    _set_zone(scheduler, "Europe/Berlin")
    _act_for(client, scheduler, host)
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        response = client.post(
            reverse("sessions:blocked_slot_add"),
            {
                "block-start_date": "2026-11-26",
                "block-start_time": "08:00",
                "block-end_date": "2026-11-27",
                "block-end_time": "18:00",
                "block-note": "Thanksgiving",
            },
        )
        assert response.status_code == 302
        slot = BlockedSlot.objects.get(host=host)
        # 08:00 EST is 13:00 UTC.
        assert slot.start_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
        assert slot.end_at == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
        event = AuditEvent.objects.get(action="blocked_slot.add")
        assert (event.actor, event.acting_for) == (scheduler, host)
        page = client.get(reverse("sessions:working_hours")).content.decode()
    # Listed in the host's zone, not the scheduler's.
    assert "Thu 26 Nov 2026, 08:00 – Fri 27 Nov 2026, 18:00" in page
    assert "Thanksgiving" in page
    assert "Times in America/New_York" in page

    response = client.post(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk}))
    assert response.status_code == 302
    assert not BlockedSlot.objects.exists()


def test_block_with_end_before_start_keeps_the_input(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-01-10",
            "block-start_time": "15:00",
            "block-end_date": "2030-01-10",
            "block-end_time": "14:00",
            "block-note": "Dentist",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "The end must be after the start." in content
    assert 'value="Dentist"' in content and 'value="2030-01-10"' in content
    assert not BlockedSlot.objects.exists()


def test_a_block_starting_at_a_time_the_clocks_skip_is_refused(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-03-31",
            "block-start_time": "01:30",
            "block-end_date": "2030-03-31",
            "block-end_time": "05:00",
        },
    )
    assert response.status_code == 200
    assert "01:30 does not exist on 31 March 2030 in Europe/London" in response.content.decode()
    assert not BlockedSlot.objects.exists()


def test_a_block_that_overlaps_another_shows_the_services_reason(client, host):
    start = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=4))
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-01-10",
            "block-start_time": "10:00",
            "block-end_date": "2030-01-10",
            "block-end_time": "11:00",
        },
    )
    assert response.status_code == 200
    assert "overlaps a time that is already blocked" in response.content.decode()
    assert BlockedSlot.objects.count() == 1


@pytest.mark.parametrize("verb", ["get", "post"])
def test_a_host_cannot_touch_a_colleagues_blocks_or_hours(client, host, other_host, verb):
    start = timezone.now() + timedelta(days=1)
    slot = blocked_slot_add(
        actor=other_host, host=other_host, start_at=start, end_at=start + timedelta(hours=1)
    )
    hours = working_hours_add(
        actor=other_host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(12)
    )
    client.force_login(host)
    call = getattr(client, verb)
    assert call(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk})).status_code == 404
    assert call(reverse("sessions:working_hours_remove", kwargs={"pk": hours.pk})).status_code == 404
    assert BlockedSlot.objects.filter(pk=slot.pk).exists()
    assert WorkingHours.objects.filter(pk=hours.pk).exists()
    assert "Colleague" not in client.get(reverse("sessions:working_hours")).content.decode()


def test_a_scheduler_acting_for_one_host_cannot_delete_another_hosts_block(
    client, scheduler, host, other_host
):
    start = timezone.now() + timedelta(days=1)
    slot = blocked_slot_add(
        actor=other_host, host=other_host, start_at=start, end_at=start + timedelta(hours=1)
    )
    _act_for(client, scheduler, host)
    assert client.post(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk})).status_code == 404
    assert BlockedSlot.objects.filter(pk=slot.pk).exists()


def test_the_working_hourss_only_take_the_right_verb(client, host):
    client.force_login(host)
    assert client.post(reverse("sessions:working_hours")).status_code == 405
    assert client.get(reverse("sessions:working_hours_add")).status_code == 405
    assert client.get(reverse("sessions:blocked_slot_add")).status_code == 405


@pytest.mark.parametrize(
    "name", ["sessions:working_hours", "sessions:calendar", "sessions:history", "sessions:history_csv"]
)
def test_a_scheduler_who_has_not_chosen_a_host_is_sent_to_the_scheduling_tab(client, scheduler, name):
    client.force_login(scheduler)
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:scheduling")


@pytest.mark.parametrize("name", ["sessions:working_hours", "sessions:calendar", "sessions:history"])
def test_planning_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
