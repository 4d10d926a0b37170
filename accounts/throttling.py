"""Who is asking, and how often: the client's address behind the reverse proxy, and the limits on
password-reset emails and public sign-ups. Log-in failures are counted by django-axes (settings AXES_*),
with this address."""

import hashlib

from django.conf import settings
from django.core.cache import cache

PASSWORD_RESETS_PER_ADDRESS = 5
PASSWORD_RESETS_PER_EMAIL = 3
PASSWORD_RESET_WINDOW_SECONDS = 60 * 60
SIGNUPS_PER_ADDRESS = 5
SIGNUP_WINDOW_SECONDS = 60 * 60


def client_address(request) -> str:
    """The address the request came from. Behind PROXY_COUNT reverse proxies that each append the address
    they were called from to X-Forwarded-For, the client is the PROXY_COUNT-th entry from the right: every
    entry further left was written by the client and could be anything. A request with fewer entries did
    not pass through the proxies, and only its own connection's address is known."""
    remote = request.META.get("REMOTE_ADDR", "")
    if settings.PROXY_COUNT <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < settings.PROXY_COUNT:
        return remote
    return hops[-settings.PROXY_COUNT]


def _count(key: str, window: int = PASSWORD_RESET_WINDOW_SECONDS) -> int:
    """Requests under this key in the current window, this one included."""
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:
        # The window ended between add and incr.
        cache.set(key, 1, window)
        return 1


def password_reset_allowed(*, request, email: str) -> bool:
    """Whether a reset email may go out: at most PASSWORD_RESETS_PER_ADDRESS an hour from one address, so
    nobody floods people's inboxes from here, and PASSWORD_RESETS_PER_EMAIL an hour to one account, so
    many addresses cannot flood one person. Every request counts, sent or not, and whoever is refused sees
    the same page as everybody else."""
    by_address = _count(f"password-reset:address:{client_address(request)}")
    # Hashed: the cache holds no email addresses, and a key is a fixed length whatever was typed.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    by_email = _count(f"password-reset:email:{digest}")
    return by_address <= PASSWORD_RESETS_PER_ADDRESS and by_email <= PASSWORD_RESETS_PER_EMAIL


def signup_allowed(*, request) -> bool:
    """Whether one more organisation may be created from this address: at most SIGNUPS_PER_ADDRESS an hour,
    so nobody fills the database with organisations (or sends their first emails) from one machine. Every
    complete sign-up form counts, accepted or not."""
    return _count(f"signup:address:{client_address(request)}", SIGNUP_WINDOW_SECONDS) <= SIGNUPS_PER_ADDRESS
