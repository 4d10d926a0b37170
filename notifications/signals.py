"""Email delivery events from the email service, through anymail's tracking webhooks
(/anymail/<esp>/tracking/).

Anymail checks the webhook's basic auth (ANYMAIL WEBHOOK_SECRET) and the ESP's own signature before it
sends the `tracking` signal, so an event that reaches this receiver came from the email service.
"""

from anymail.signals import AnymailTrackingEvent, EventType

from notifications.provider_events import notice_record_provider_status

# Opens, clicks and the like are not recorded: the notices log answers "did it arrive", not "was it read".
_RECORDED_EVENTS = {
    EventType.DELIVERED: "delivered",
    EventType.BOUNCED: "bounced",
    EventType.REJECTED: "rejected",
    EventType.FAILED: "failed",
    EventType.COMPLAINED: "complained",
}


def email_tracking_record(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    status = _RECORDED_EVENTS.get(event.event_type)
    if status is None or not event.message_id:
        return
    notice_record_provider_status(
        provider_message_id=str(event.message_id),
        status=status,
        reason=event.description or event.mta_response or event.reject_reason or "",
        occurred_at=event.timestamp,
    )
