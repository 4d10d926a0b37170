"""What one booking costs through session_schedule on PostgreSQL: queries and milliseconds for 1 session
x 1 participant, 1 x 10 and a weekly series of 52 x 3, for this tree and, side by side in the same run,
for an earlier commit (--compare REV, checked out into a temporary git worktree).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.booking --compare HEAD~1

Each tree runs in its own process against its own database (bench_booking_<n>, dropped at the end), with
config.settings.test. Every shape is booked --repeats times, each into an empty calendar; the median and
the spread of the times are printed, with the query count (the same every time).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.notices import _admin_connection, _recreate_database, _with_database

REPO_ROOT = Path(__file__).resolve().parent.parent
SHAPES = [(1, 1), (1, 10), (52, 3)]

# Run inside each tree (its own code, its own database); prints one JSON line per shape.
MEASURE = r"""
import json, statistics, sys, time
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from accounts.models import Membership, Organization, User
from sessions_app.models import Session, WorkingHours
from sessions_app.services import ParticipantDetails, RepeatRule, session_schedule

repeats = int(sys.argv[1])
organization = Organization.objects.create(name="Bench", slug="bench")
host = User.objects.create_user(
    email="host@bench.test", password="x", full_name="Host", time_zone="Europe/London"
)
Membership.objects.create(user=host, organization=organization, role="host")
for weekday in range(7):
    WorkingHours.objects.create(host=host, weekday=weekday, start_time="00:00", end_time="23:59")
for occurrences, people in json.loads(sys.argv[2]):
    counts, times = [], []
    for run in range(repeats):
        Session.objects.filter(host=host).delete()
        participants = [
            ParticipantDetails(
                name=f"Person {run}-{n}", invite_method="email" if n % 2 else "sms",
                email=f"p{run}-{n}@bench.test", phone=f"+44791{run:03d}{n:04d}", time_zone="Europe/Paris",
            )
            for n in range(people)
        ]
        repeat = RepeatRule(frequency="weekly", count=occurrences) if occurrences > 1 else None
        start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            session_schedule(actor=host, host=host, title="Bench", start_at=start, duration_minutes=50,
                             participants=participants, repeat=repeat)
            elapsed = time.perf_counter() - began
        counts.append(len(queries))
        times.append(elapsed * 1000)
    print(json.dumps({"shape": [occurrences, people], "queries": max(counts),
                      "ms_median": statistics.median(times), "ms_min": min(times), "ms_max": max(times)}))
"""


def _drop_database(database_url: str, name: str) -> None:
    from psycopg import sql

    with _admin_connection(database_url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _measure(tree: Path, database_url: str, database: str, repeats: int) -> list[dict]:
    _recreate_database(database_url, database)
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _with_database(database_url, database),
            "PYTHONPATH": str(tree),
        }
        result = subprocess.run(  # noqa: S603 - this interpreter, arguments from this module
            [sys.executable, "-c", MEASURE, str(repeats), json.dumps(SHAPES)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        _drop_database(database_url, database)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="REV", help="an earlier commit to measure beside this tree")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://... (the script creates and drops its own databases there).")
    trees = [("this tree", REPO_ROOT)]
    with tempfile.TemporaryDirectory(prefix="bench-booking-") as scratch:
        if args.compare:
            earlier = Path(scratch) / "earlier"
            subprocess.run(  # noqa: S603 - git, with the revision the caller named
                ["git", "worktree", "add", "--detach", str(earlier), args.compare],  # noqa: S607
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )
            trees.insert(0, (args.compare, earlier))
        try:
            results = {
                label: _measure(tree, database_url, f"bench_booking_{index}", args.repeats)
                for index, (label, tree) in enumerate(trees)
            }
        finally:
            if args.compare:
                remove = ["git", "worktree", "remove", "--force", str(earlier)]
                subprocess.run(remove, cwd=REPO_ROOT, check=False)  # noqa: S603, S607 - git, fixed arguments
    print(f"{'booking':<14}" + "".join(f"{label:>34}" for label, _ in trees))
    for index, (occurrences, people) in enumerate(SHAPES):
        cells = []
        for label, _ in trees:
            row = results[label][index]
            cells.append(
                f"{row['queries']:>6} queries {row['ms_median']:>8.1f} ms "
                f"({row['ms_min']:.0f}-{row['ms_max']:.0f})"
            )
        print(f"{occurrences:>3} x {people:<3} " + "     " + "".join(f"{cell:>34}" for cell in cells))
    if args.compare:
        for index, (occurrences, people) in enumerate(SHAPES):
            before, after = results[args.compare][index], results["this tree"][index]
            print(
                f"{occurrences} x {people}: queries {before['queries']} -> {after['queries']}, "
                f"time ratio after/before {after['ms_median'] / before['ms_median']:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
