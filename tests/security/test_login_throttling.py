"""Behind the reverse proxy every request comes from the proxy's address: the client's is read from
X-Forwarded-For with the configured proxy count, and log-in failures lock one account from one address,
not everyone behind the proxy (issue 8, item 15)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.throttling import client_address
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "172.18.0.5"


@pytest.fixture
def behind_one_proxy(settings):
    settings.PROXY_COUNT = 1


def _log_in(client, user, password: str, client_ip: str):
    return client.post(
        reverse("login"),
        {"username": user.email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_ip,
    )


def test_five_failures_behind_the_proxy_lock_only_that_account_from_that_address(
    client, host, other_host, behind_one_proxy
):
    for _ in range(5):
        _log_in(client, host, "wrong", "203.0.113.7")

    assert _log_in(client, host, PASSWORD, "203.0.113.7").status_code == 429
    assert _log_in(client, host, PASSWORD, "198.51.100.20").status_code == 302
    assert _log_in(client, other_host, PASSWORD, "203.0.113.7").status_code == 302


def test_a_forged_forwarded_for_entry_does_not_escape_the_lock(client, host, behind_one_proxy):
    for _ in range(5):
        _log_in(client, host, "wrong", "203.0.113.7")

    # The client wrote the first entry; the proxy appended the address it really came from.
    assert _log_in(client, host, PASSWORD, "198.51.100.20, 203.0.113.7").status_code == 429


@pytest.mark.parametrize(
    ("proxy_count", "forwarded_for", "expected"),
    [
        (0, "203.0.113.7", PROXY),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        (2, "203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", PROXY),
        (1, "", PROXY),
    ],
)
def test_the_client_address_is_counted_from_the_right_by_the_proxies_in_front(
    settings, proxy_count, forwarded_for, expected
):
    settings.PROXY_COUNT = proxy_count
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_address(request) == expected
