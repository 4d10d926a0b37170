from .base import *  # noqa: F403

DEBUG = False
DEV_OUTBOX = True
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="anymail.backends.test.EmailBackend")
SITE_URL = "http://testserver"
ALLOWED_HOSTS = ["*"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not env("DATABASE_URL", default=""):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "TEST": {"NAME": ":memory:"},
    }

# Unit tests never need a broker: on_commit hooks do not run inside their transactions, and the tests call
# the delivery services directly. The integration tier brings a real Redis and real worker processes.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
# time_machine moves Python's clock, not PostgreSQL's: tests that travel in time compare with the process's
# clock. The clock-skew tests and the integration tier's workers use the database's (notifications.clock).
NOTIFICATION_CLOCK = env("NOTIFICATION_CLOCK", default="process")

AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
LOGGING = {"version": 1, "disable_existing_loggers": False}
JITSI_BASE_URL = "http://127.0.0.1:9"  # tests never reach a real video service
# The calendar-import tests serve their calendars on 127.0.0.1 (and switch this off to test the refusals).
CALENDAR_FETCH_ALLOW_PRIVATE = True
