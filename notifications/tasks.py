from celery import shared_task
from django.utils import timezone

from notifications.models import SweepHeartbeat
from notifications.services import notices_deliver, notices_hand_over_due


@shared_task(acks_late=True, ignore_result=True)
def deliver_notices(notification_ids: list[int]) -> None:
    # One task per batch of due notices, sent one after the other (notices_deliver). Retries are scheduled
    # in the row (send_at), not in the broker.
    notices_deliver(notification_ids=notification_ids)


@shared_task(ignore_result=True)
def sweep_due_notices() -> int:
    # Beat runs this every NOTIFICATION_SWEEP_SECONDS: nothing depends on a message surviving in the broker.
    handed = notices_hand_over_due()
    # Written only after a sweep that went through, so /healthz sees the whole chain it depends on (beat,
    # broker, a worker, the database) and not merely a beat process that is running.
    SweepHeartbeat.objects.update_or_create(pk=1, defaults={"at": timezone.now()})
    return len(handed)
