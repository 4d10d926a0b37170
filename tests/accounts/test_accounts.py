import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Membership, User
from sessions_app.models import Room, Session, WorkingHours
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password_lands_on_the_dashboard(client, host):
    response = client.post(reverse("login"), {"username": host.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:dashboard")


def test_login_is_locked_after_five_failures_for_that_account_from_that_address(client, host):
    for _ in range(5):
        client.post(reverse("login"), {"username": host.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    # Even the right password is refused from that address while the pair is locked...
    response = client.post(
        reverse("login"), {"username": host.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    # ...but a stranger's guesses cannot lock the host out from everywhere else.
    response = client.post(
        reverse("login"), {"username": host.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 302


def test_failures_for_other_accounts_do_not_lock_an_address_shared_by_many(client, host, other_host):
    for n in range(5):
        client.post(
            reverse("login"), {"username": f"nobody{n}@example.test", "password": "x"}, REMOTE_ADDR="10.0.0.9"
        )
    response = client.post(
        reverse("login"), {"username": other_host.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(client, host):
    client.post(reverse("password_reset"), {"email": host.email})
    [email] = mail.outbox
    link = next(line for line in email.body.splitlines() if "/password-reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "A-new-long-pass-42", "new_password2": "A-new-long-pass-42"},
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.check_password("A-new-long-pass-42")


def test_logout_is_a_post(client, host):
    client.force_login(host)
    client.post(reverse("logout"))
    assert client.get(reverse("sessions:dashboard")).status_code == 302


def test_seed_demo_is_idempotent_and_makes_the_demo_logins():
    call_command("seed_demo")
    call_command("seed_demo")
    roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles == {
        "host@demo.test": "host",
        "host2@demo.test": "host",
        "scheduler@demo.test": "scheduler",
        "admin@demo.test": "admin",
    }
    assert all(user.check_password("demo-pass-123") for user in User.objects.all())
    assert Session.objects.count() == 5
    assert Session.objects.filter(participants__isnull=False).distinct().count() == 5
    assert Room.objects.count() == 2
    assert WorkingHours.objects.count() == 2 * 5 * 2


def test_scheduler_is_sent_to_the_scheduling_tab_then_acts_for_a_host(client, scheduler, host):
    client.force_login(scheduler)
    assert client.get(reverse("sessions:dashboard"))["Location"] == reverse("accounts:scheduling")
    tab = client.get(reverse("accounts:scheduling")).content.decode()
    assert host.full_name in tab
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    assert "Acting for" in client.get(reverse("sessions:dashboard")).content.decode()
    client.post(reverse("accounts:stop_acting"))
    assert client.get(reverse("sessions:dashboard"))["Location"] == reverse("accounts:scheduling")
