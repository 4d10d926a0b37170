from celery import shared_task
from django.utils import timezone

from notifications.models import SweepHeartbeat
from notifications.services import notice_deliver, notices_hand_over_due


@shared_task(acks_late=True, ignore_result=True)
def deliver_notice(notification_id: int) -> None:
    # Retries are scheduled in the row (send_at), not in the broker: see notice_deliver.
    notice_deliver(notification_id=notification_id)


@shared_task(ignore_result=True)
def sweep_due_notices() -> int:
    # Beat runs this every NOTIFICATION_SWEEP_SECONDS: nothing depends on a message surviving in the broker.
    handed = notices_hand_over_due()
    # Written only after a sweep that went through, so /healthz sees the whole chain it depends on (beat,
    # broker, a worker, the database) and not merely a beat process that is running.
    SweepHeartbeat.objects.update_or_create(pk=1, defaults={"at": timezone.now()})
    return len(handed)
