from .base import *  # noqa: F403

DEBUG = False
DEV_OUTBOX = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Every join link and provider callback is built on it: a guessed default (base.py's, for one machine)
# would send people and providers to an address nobody serves.
SITE_URL = env("SITE_URL").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz, probed over plain HTTP from inside the deployment, is answered before this redirect
# (config.middleware.HealthCheckMiddleware).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Notices must reach people: text messages only through Twilio, and `check --deploy` refuses an email
# backend that keeps mail on the server (notifications/checks.py).
TEXT_FILE_PROVIDER = False

STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

# Never read a host's calendar from a private, loopback or link-local address (sessions_app.calendar_import).
CALENDAR_FETCH_ALLOW_PRIVATE = False
