"""Settings shared by every environment.

With no environment set, everything runs on one machine (DESIGN.md rule 6): SQLite under var/, Celery over
its filesystem transport under var/, email written as files, SMS and WhatsApp written by a local provider.
Setting DATABASE_URL, CELERY_BROKER_URL, an anymail ESP, Twilio and Stripe keys switches to real services.
"""

from datetime import timedelta
from pathlib import Path

import environ
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
# The embedded defaults keep their database, broker folders, mail and SMS here; a fresh clone has none yet.
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A fixed key is only tolerable for the embedded development defaults; production.py requires its own.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghij")
# Rotating the key: set the new one as DJANGO_SECRET_KEY and list the old ones here (comma-separated) until
# the links and cookies signed with them have run out; join links, signed cookies and sessions verify with
# any of them, and everything new is signed with DJANGO_SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])


def local_site_url(port: int) -> str:
    """The site's address on one machine, where scripts/run.sh serves it on PORT."""
    return f"http://127.0.0.1:{port}"


# Join links and webhook addresses are built on SITE_URL. On one machine it follows PORT, which
# scripts/run.sh passes to the web server, the worker and beat alike (the worker builds the links in
# notices), so a link never points at a port nobody serves; production.py has no default at all.
SITE_URL = env("SITE_URL", default=local_site_url(env.int("PORT", default=8000))).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "django_htmx",
    "anymail",
    "axes",
    "accounts",
    "contacts",
    "sessions_app",
    "notifications",
    "documents",
    "billing",
]

MIDDLEWARE = [
    # First: the container's health probe is answered before anything validates its Host header.
    "config.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ActingForMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    # Axes must come last so it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.acting_for",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE transactions take the write lock up
    # front, so two writers wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The password-reset limit counts in the cache: with several web processes it must be one they share
# (docker-compose sets CACHE_URL=redis://...); the default memory cache is one process's own.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# A page's rows are served again while the rows they read are unchanged (config/fragments.py); this bounds
# how old the clock's part of them can be (a "waiting 3 min", when the next look at the waiting room comes).
# 0 renders every page afresh.
PAGE_FRAGMENT_MAX_AGE = env.int("PAGE_FRAGMENT_MAX_AGE", default=10)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The public sign-up page (/signup/), where anyone can create an organisation and become its admin. Off by
# default: a self-hosted installation creates its organisation with `manage.py create_organization`.
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sessions:dashboard"
LOGOUT_REDIRECT_URL = "login"

# How many reverse proxies stand in front of the web server, each appending to X-Forwarded-For (0: none, the
# connection's address is the client's). accounts.throttling.client_address reads the client from it.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)

# Login throttling: five failures for one account from one address lock that pair for 15 minutes. Locking
# the address alone would lock out everyone behind one NAT or proxy, and the account alone would let anyone
# lock a host out of their own account. The price: guesses spread over many addresses are not stopped here,
# only slowed per address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The login form posts the email in the "username" field (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
# One rule for the client's address, shared with the password-reset limit; django-ipware is not installed,
# and its proxy count counts the entries of the header rather than the proxies in front.
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (document answers) live under var/, outside static/, with no MEDIA_URL: nothing serves them
# but the view that checks the reader's organisation (documents.views).
MEDIA_ROOT = VAR_DIR / "uploads"
DOCUMENT_UPLOAD_MAX_BYTES = env.int("DOCUMENT_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# Ended sessions leave the dashboard this long after their end, unless required documents are missing.
DASHBOARD_KEEP_ENDED_HOURS = env.int("DASHBOARD_KEEP_ENDED_HOURS", default=24)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
PHONENUMBER_DEFAULT_REGION = None
PHONENUMBER_DEFAULT_FORMAT = "E164"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Email: files under var/ unless an anymail ESP is configured -------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Consultations <no-reply@consultations.test>")
ANYMAIL = {key[len("ANYMAIL_") :]: value for key, value in env.ENVIRON.items() if key.startswith("ANYMAIL_")}

# --- SMS and WhatsApp: Twilio when its keys are set, else the local file provider ---------------------------
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_WHATSAPP_FROM = env("TWILIO_WHATSAPP_FROM", default="")
# Only for tests and local fakes: send the SDK's HTTP to this base URL instead of Twilio's.
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")
SMS_FILE_PATH = VAR_DIR / "sms"
# Without Twilio's keys, text messages are written under SMS_FILE_PATH: on one machine that is how they are
# read (DESIGN.md rule 6); production.py turns it off, since a file on a server reaches nobody.
TEXT_FILE_PROVIDER = True
# The text channels participants may choose (notifications.channels.text_channels_available). Leave it
# empty to offer email only; offering a channel that no provider carries fails `check --deploy`.
TEXT_CHANNELS = [channel for channel in env.list("TEXT_CHANNELS", default=["sms", "whatsapp"]) if channel]
# Every provider call gives up after this long (Twilio's HTTP client, anymail's ESP API calls, SMTP); a
# time-out is a transient error and the notice is retried.
PROVIDER_TIMEOUT_SECONDS = env.int("PROVIDER_TIMEOUT_SECONDS", default=10)
ANYMAIL.setdefault("REQUESTS_TIMEOUT", PROVIDER_TIMEOUT_SECONDS)
EMAIL_TIMEOUT = PROVIDER_TIMEOUT_SECONDS

# --- Payments: Stripe Connect when its secret key is set, else off (the pages say so) -----------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
# Without it the webhook answers 404: an event nobody can verify is never acted on.
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Only for tests and local fakes (tests.support.fake_stripe): send the SDK's HTTP here instead of Stripe's.
STRIPE_API_BASE_URL = env("STRIPE_API_BASE_URL", default="").rstrip("/")

# What a notice says comes from the app that wrote it; the outbox only renders and sends.
NOTICE_CONTEXT = "sessions_app.notices.notice_context"

# --- Video -----------------------------------------------------------------------------------------------
VIDEO_PROVIDER = env("VIDEO_PROVIDER", default="sessions_app.video.JitsiProvider")
JITSI_BASE_URL = env("JITSI_BASE_URL", default="https://meet.jit.si").rstrip("/")
JITSI_APP_ID = env("JITSI_APP_ID", default="")
JITSI_APP_SECRET = env("JITSI_APP_SECRET", default="")

# --- Join links ------------------------------------------------------------------------------------------
JOIN_OPENS_BEFORE = timedelta(minutes=5)
JOIN_COOKIE_NAME = "join"
JOIN_COOKIE_MAX_AGE = 60 * 60 * 12

# --- Celery ----------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "polling_interval": 0.2,
        "processed_folder": str(_processed),
        "store_processed": False,
        # Broadcast (worker control) messages; kombu's default is a "control" folder in the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    _queue.mkdir(parents=True, exist_ok=True)
    _processed.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The sweep of due notices has a queue of its own, which every worker also consumes: behind thousands of
# notices it has just handed over, its next tick (and the heartbeat /healthz reads) would wait minutes.
# Each queue names its own exchange and routing key; left to Celery's defaults both would get "celery".
CELERY_TASK_QUEUES = (
    Queue("celery", Exchange("celery"), routing_key="celery"),
    Queue("sweep", Exchange("sweep"), routing_key="sweep"),
)
CELERY_TASK_ROUTES = {"notifications.tasks.sweep_due_notices": {"queue": "sweep"}}
NOTIFICATION_SWEEP_SECONDS = env.float("NOTIFICATION_SWEEP_SECONDS", default=10.0)
# How the sweep hands due notices over (notifications.services): one task per NOTIFICATION_DELIVERY_BATCH
# notices, and at most NOTIFICATION_SWEEP_QUEUE_ROWS rows handed over and not yet claimed.
NOTIFICATION_DELIVERY_BATCH = env.int("NOTIFICATION_DELIVERY_BATCH", default=20)
NOTIFICATION_SWEEP_QUEUE_ROWS = env.int("NOTIFICATION_SWEEP_QUEUE_ROWS", default=10_000)
# The delivery policy (notifications.services): a due row handed to the broker is handed again only after
# NOTIFICATION_REHAND_SECONDS; a worker's claim on a row lapses after NOTIFICATION_CLAIM_LEASE_SECONDS (keep
# it well above PROVIDER_TIMEOUT_SECONDS); retries wait NOTIFICATION_RETRY_BASE_SECONDS, doubling.
NOTIFICATION_REHAND_SECONDS = env.float("NOTIFICATION_REHAND_SECONDS", default=60.0)
NOTIFICATION_CLAIM_LEASE_SECONDS = env.float("NOTIFICATION_CLAIM_LEASE_SECONDS", default=300.0)
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=30.0)
# Due-ness and claim leases follow the database's clock, shared by every process (notifications.clock).
NOTIFICATION_CLOCK = env("NOTIFICATION_CLOCK", default="database")
# Time limits of every task, derived from the claim lease. The hard limit (SIGKILL of the worker process) is
# well below the lease, so a stuck send is killed before its row lapses and another worker sends it too;
# the claim and its lease are both timed by the database's clock, so no worker's drift shortens the gap.
# The soft limit (SoftTimeLimitExceeded in the task) leaves a send six provider time-outs plus rendering,
# and is an ordinary exception to notice_deliver: the notice is retried later, like any unexpected error.
# Defaults with the 300 s lease: soft 60 s, hard 120 s.
CELERY_TASK_SOFT_TIME_LIMIT = env.float(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=NOTIFICATION_CLAIM_LEASE_SECONDS / 5
)
CELERY_TASK_TIME_LIMIT = env.float("CELERY_TASK_TIME_LIMIT", default=NOTIFICATION_CLAIM_LEASE_SECONDS * 2 / 5)
CELERY_BEAT_SCHEDULE = {
    "sweep-due-notices": {
        "task": "notifications.tasks.sweep_due_notices",
        "schedule": NOTIFICATION_SWEEP_SECONDS,
    },
    # Refunds and invoices whose hand-over to a worker was lost, or whose Stripe call is due a retry.
    "send-due-billing-calls": {
        "task": "billing.tasks.sweep_billing_calls",
        "schedule": env.float("BILLING_SWEEP_SECONDS", default=60.0),
    },
    # Pages read a session's state from its end at once (Session.state); this writes it down.
    "complete-ended-sessions": {
        "task": "sessions_app.tasks.complete_ended_sessions",
        "schedule": env.float("SESSION_COMPLETE_SECONDS", default=60.0),
    },
    # Hosts' own calendars due a reading (every 15 minutes each): their busy times (issue 13).
    "refresh-calendar-sources": {
        "task": "sessions_app.tasks.refresh_calendar_sources",
        "schedule": env.float("CALENDAR_SWEEP_SECONDS", default=300.0),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# A host's own calendar is read from the address they pasted: a request from our server to an address a user
# chose (sessions_app.calendar_import). Private, loopback and link-local addresses are refused unless this
# is on, as it is in development and tests, where the calendar is served on this machine.
CALENDAR_FETCH_ALLOW_PRIVATE = env.bool("CALENDAR_FETCH_ALLOW_PRIVATE", default=False)

# Every log record is cleared of join tokens when it is made (config.logging.configure); the handlers'
# filter also clears the request that Django passes along with its records.
LOGGING_CONFIG = "config.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_join_tokens": {"()": "config.logging.RedactJoinTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_join_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default handlers for "django" have no such filter; ours replace them.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
