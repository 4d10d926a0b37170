from celery import shared_task

from sessions_app.services import sessions_complete_ended


@shared_task(ignore_result=True)
def complete_ended_sessions() -> int:
    return sessions_complete_ended()
