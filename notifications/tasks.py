from celery import shared_task

from notifications.services import notice_deliver, notices_hand_over_due


@shared_task(acks_late=True, ignore_result=True)
def deliver_notice(notification_id: int) -> None:
    # Retries are scheduled in the row (send_at), not in the broker: see notice_deliver.
    notice_deliver(notification_id=notification_id)


@shared_task(ignore_result=True)
def sweep_due_notices() -> int:
    # Beat runs this every NOTIFICATION_SWEEP_SECONDS: nothing depends on a message surviving in the broker.
    return len(notices_hand_over_due())
