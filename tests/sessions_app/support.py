"""What the Schedule form posts, for the tests that book through it."""

from datetime import datetime, timedelta

from django.utils import timezone

MARIA = {
    "name": "Maria Garcia",
    "invite_method": "email",
    "email": "maria@example.test",
    "time_zone": "Europe/Madrid",
}


def morning_in(host, days: int = 2) -> datetime:
    """10:00 the host's time, `days` from now: a start the form takes whenever the tests run."""
    return (
        (timezone.now() + timedelta(days=days))
        .astimezone(host.zone)
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )


def schedule_form_data(start: datetime, participants: list[dict], **extra) -> dict:
    """The Schedule form's fields for a 50-minute "Weekly therapy" at `start`, a participant row for each of
    `participants` (its fields without the formset's prefix), then `extra` (by the fields' full names)."""
    data = {
        "title": "Weekly therapy",
        "date": f"{start:%Y-%m-%d}",
        "time": f"{start:%H:%M}",
        "duration_minutes": "50",
        "participants-TOTAL_FORMS": str(len(participants)),
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "1",
        "participants-MAX_NUM_FORMS": "20",
    }
    for index, fields in enumerate(participants):
        data.update({f"participants-{index}-{name}": value for name, value in fields.items()})
    data.update(extra)
    return data
