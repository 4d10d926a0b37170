from celery import shared_task

from sessions_app.services import sessions_complete_ended
from sessions_app.services.calendar_sources import calendar_source_refresh, calendar_sources_due_ids


@shared_task(ignore_result=True)
def complete_ended_sessions() -> int:
    return sessions_complete_ended()


@shared_task(ignore_result=True)
def refresh_calendar_sources() -> int:
    # Beat runs this every CALENDAR_SWEEP_SECONDS. One task per calendar, so a slow server holds up only
    # its own host; a calendar handed out twice is read once (the claim in calendar_source_refresh).
    source_ids = calendar_sources_due_ids()
    for source_id in source_ids:
        refresh_calendar_source.delay(source_id)
    return len(source_ids)


@shared_task(acks_late=True, ignore_result=True)
def refresh_calendar_source(source_id: int) -> bool:
    return calendar_source_refresh(source_id=source_id)
