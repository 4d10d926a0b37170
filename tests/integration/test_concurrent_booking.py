"""Two schedulers save into the same slot at the same moment: PostgreSQL's exclusion constraint lets exactly
one of them win, even though both passed the availability check before either wrote."""

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from config.errors import ValidationFailedError
from sessions_app.models import Session
from sessions_app.services import session_reschedule
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _race(actions):
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            action()
            outcomes[index] = "won"
        except ValidationFailedError as error:
            outcomes[index] = error.message
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_concurrent_reschedules_into_the_same_slot_exactly_one_wins(host, scheduler):
    assert connection.vendor == "postgresql"
    base = timezone.now() + timedelta(days=2)
    first = SessionFactory(host=host, start_at=base)
    second = SessionFactory(host=host, start_at=base + timedelta(hours=3))
    for session in (first, second):
        ParticipantFactory(session=session)
    slot = base + timedelta(days=1)

    for _round in range(5):
        outcomes = _race(
            [
                partial(session_reschedule, actor=host, session=first, start_at=slot),
                partial(
                    session_reschedule, actor=scheduler, session=second, start_at=slot + timedelta(minutes=10)
                ),
            ]
        )
        assert outcomes.count("won") == 1, outcomes
        loser = outcomes[1 - outcomes.index("won")]
        assert "overlap" in loser.lower() or "Overlaps" in loser
        in_slot = Session.objects.filter(host=host, start_at__lt=slot + timedelta(hours=1), end_at__gt=slot)
        assert in_slot.count() == 1
        # Put both back for the next round, a day later each time.
        slot += timedelta(days=1)
        Session.objects.filter(pk=first.pk).update(start_at=base, end_at=base + timedelta(minutes=50))
        Session.objects.filter(pk=second.pk).update(
            start_at=base + timedelta(hours=3), end_at=base + timedelta(hours=3, minutes=50)
        )
        first.refresh_from_db()
        second.refresh_from_db()
