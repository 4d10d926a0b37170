"""The site's own error pages (400, 403, the CSRF failure, 404, 500) and the page a participant sees when
their join link no longer works, in development (DEBUG on) too."""

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.template import loader
from django.test import Client
from django.urls import include, path, reverse

from sessions_app.join.links import join_token
from sessions_app.services import participant_remove
from tests.factories import ParticipantFactory, SessionFactory


def _crash(request):
    raise RuntimeError("a bug")


def _denied(request):
    raise PermissionDenied


def _bad(request):
    raise BadRequest


# This module is the URLconf of the tests marked `urls`: the site's own, plus views that fail on purpose.
urlpatterns = [
    path("crash/", _crash),
    path("denied/", _denied),
    path("bad/", _bad),
    path("", include("config.urls")),
]

STAFF_LINKS = ('href="/login/', 'href="/"', "Log out")


def _page(response) -> str:
    return response.content.decode()


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


def _assert_no_staff_links(page: str):
    for link in STAFF_LINKS:
        assert link not in page


# The site's error pages (DEBUG off, as in production) -------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_address_shows_the_designed_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "404.html" in _templates(response)
    assert "Page not found" in _page(response)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_crash_shows_the_designed_500_page():
    response = Client(raise_request_exception=False).get("/crash/")

    assert response.status_code == 500
    page = _page(response)
    assert "Something went wrong on our side" in page
    assert "/static/css/app.css" in page
    _assert_no_staff_links(page)


def test_the_500_page_renders_with_no_context_and_no_database():
    # No django_db mark: any query would fail the test. Django renders it with no request and no context.
    page = loader.get_template("500.html").render()

    assert "Something went wrong on our side" in page
    assert "<a " not in page


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_refusal_shows_the_designed_403_page(client):
    response = client.get("/denied/")

    assert response.status_code == 403
    assert "403.html" in _templates(response)
    assert "You are not allowed to see this page" in _page(response)


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_shows_the_designed_csrf_page():
    response = Client(enforce_csrf_checks=True).post(
        reverse("login"), {"username": "someone@example.test", "password": "x"}
    )

    assert response.status_code == 403
    assert "403_csrf.html" in _templates(response)
    page = _page(response)
    assert "This form could not be sent" in page
    assert "CSRF verification failed" not in page
    _assert_no_staff_links(page)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_bad_request_shows_the_designed_400_page(client):
    response = client.get("/bad/")

    assert response.status_code == 400
    assert "400.html" in _templates(response)
    page = _page(response)
    assert "This request could not be understood" in page
    _assert_no_staff_links(page)


# A join link that no longer works, in development -----------------------------------------------------------


@pytest.fixture
def debug_on(settings):
    # With DEBUG on, a raised Http404 shows Django's technical page, listing every URL of the site.
    settings.DEBUG = True


def _assert_link_not_working_page(response):
    assert response.status_code == 404
    assert "join/link_not_found.html" in _templates(response)
    page = _page(response)
    assert "This link no longer works" in page
    assert "ask the person who invited you for a new link" in page
    assert "/login" not in page
    _assert_no_staff_links(page)
    # Nothing of Django's technical 404 page, which lists the URL patterns.
    assert "URLconf" not in page and "admin/" not in page


@pytest.mark.django_db
def test_an_unknown_join_link_speaks_to_the_participant_in_development(client, debug_on):
    _assert_link_not_working_page(client.get("/join/" + "A" * 43 + "/"))
    _assert_link_not_working_page(client.get("/join/not-a-token/"))


@pytest.mark.django_db
def test_a_removed_or_revoked_join_link_speaks_to_the_participant_in_development(client, host, debug_on):
    session = SessionFactory(host=host)
    removed = ParticipantFactory(session=session, name="Removed")
    revoked = ParticipantFactory(session=session, name="Revoked")
    removed_token, revoked_token = join_token(removed), join_token(revoked)
    participant_remove(actor=host, participant=removed)
    revoked.link_version += 1
    revoked.save(update_fields=["link_version"])

    _assert_link_not_working_page(client.get(reverse("join:enter", kwargs={"token": removed_token})))
    _assert_link_not_working_page(client.get(reverse("join:enter", kwargs={"token": revoked_token})))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["join:lobby", "join:room", "join:waiting_status", "join:documents", "join:pay"]
)
def test_the_pages_of_the_way_in_without_a_link_speak_to_the_participant(client, debug_on, name):
    _assert_link_not_working_page(client.get(reverse(name)))


@pytest.mark.django_db
def test_a_link_revoked_while_waiting_sends_the_waiting_room_to_the_lobby(client, host):
    participant = ParticipantFactory(session=SessionFactory(host=host))
    client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    participant_remove(actor=host, participant=participant)

    poll = client.get(reverse("join:waiting_status"), headers={"HX-Request": "true"})

    assert poll.status_code == 404
    assert poll["HX-Redirect"] == reverse("join:lobby")
