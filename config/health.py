from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app
from notifications.models import SweepHeartbeat

# Beat may miss a tick or two (a restart, a sweep queued behind a batch of notices) without anyone needing
# to act; three missed ticks in a row means reminders and retries have stopped going out.
BEAT_STALE_AFTER_SWEEPS = 3


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return False, exc.__class__.__name__
    return True, "ok"


def _broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return False, exc.__class__.__name__
    return True, "ok"


def _beat_ok() -> tuple[bool, str]:
    """Whether beat's sweep of due notices (notifications.tasks.sweep_due_notices) still runs.

    No sweep ever recorded is unhealthy ("never"), not healthy: a deployment that forgot to run beat (or
    whose worker never picks up its task) would otherwise look healthy for ever while no reminder or retry
    is sent. On a fresh install this lasts only until the first sweep, one interval after beat and a worker
    start."""
    try:
        last_sweep = SweepHeartbeat.objects.filter(pk=1).values_list("at", flat=True).first()
    except Exception as exc:  # noqa: BLE001
        return False, exc.__class__.__name__
    if last_sweep is None:
        return False, "never"
    stale_after = BEAT_STALE_AFTER_SWEEPS * settings.NOTIFICATION_SWEEP_SECONDS
    if (timezone.now() - last_sweep).total_seconds() > stale_after:
        return False, "stale"
    return True, "ok"


@never_cache
def healthz(request):
    database_ok, database = _database_ok()
    broker_ok, broker = _broker_ok()
    beat_ok, beat = _beat_ok()
    healthy = database_ok and broker_ok and beat_ok
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "database": database, "broker": broker, "beat": beat},
        status=200 if healthy else 503,
    )
