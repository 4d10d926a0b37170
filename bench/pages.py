"""Throughput of the host's pages under gunicorn on PostgreSQL, each as a share of a trivial logged-in page's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.pages   # or: make bench-pages

It drops and recreates its own database (bench_pages) on the server of DATABASE_URL, migrates it, collects
the static files, and seeds one host with --upcoming sessions of --participants participants each (booked
through session_schedule, their invites marked sent) and --past sessions that have ended (3 participants
each; a tenth cancelled, a seventh no-shows). It starts gunicorn (`config.wsgi`, --workers sync workers)
with bench.settings (production's settings with bench/urls.py's trivial page added), logs in through the
login page, and loads each page in turn with wrk (from the Debian package; a Python load generator when
wrk is absent) over --connections keep-alive connections for --seconds, in --rounds interleaved rounds:

    trivial, dashboard, session page, calendar, history, trivial, dashboard, ...

Printed for every page and round: requests per second, the ratio to the trivial page of the same round,
the latency's p50 and p99, and the page's size; then each page's ratios over the rounds, and the load
average of the machine before and after each round. The trivial page (/bench/trivial/) renders base.html
after one query: what this stack serves at best on this machine, so the ratios hold from one machine (or
one load) to another better than the raw rates do.
"""

import argparse
import http.client
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench.notices import _admin_connection, _drop_database, _recreate_database, _with_database

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60
HOST_EMAIL = "host@bench.test"
HOST_PASSWORD = "bench-pages-password"  # noqa: S105 - a throwaway account in a throwaway database
PAGES = ["trivial", "dashboard", "session", "calendar", "history"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="load per page and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--upcoming", type=int, default=30, help="sessions on the dashboard")
    parser.add_argument("--participants", type=int, default=3, help="participants per upcoming session")
    parser.add_argument("--past", type=int, default=2_000, help="sessions that have ended")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="bench_pages", help="the database this script recreates")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--python-load", action="store_true", help="the Python load generator even with wrk")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="seed, start gunicorn, print the pages and the cookie, and wait (for a profiler); no load",
    )
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://... (the script recreates its own database there).")
    _recreate_database(database_url, args.database)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    base_url = f"http://127.0.0.1:{args.port}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=_with_database(database_url, args.database),
        VAR_DIR=str(work_dir / "var"),
        SITE_URL=base_url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        paths, seeded = _seed(args)
        from django.db import connections

        connections.close_all()
        server = Gunicorn(args.port, args.workers, work_dir / "gunicorn.log")
        cookie = _log_in(base_url)
        sizes = {page: _check_page(base_url + paths[page], cookie) for page in PAGES}
        print(_environment(args, database_url, seeded, paths))
        if args.hold:
            print(f"\nServing on {base_url} (gunicorn master {server.process.pid}); Ctrl-C stops.")
            print(f"Cookie: {cookie}")
            for page in PAGES:
                print(f"  {page:<10} {base_url}{paths[page]}")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
            return 0
        load = PythonLoad() if args.python_load or not shutil.which("wrk") else Wrk()
        for page in PAGES:  # every worker loads and caches its templates before anything is timed
            load.run(base_url + paths[page], cookie, seconds=2, connections=args.connections)
        results = []
        for round_number in range(1, args.rounds + 1):
            load_before = _loadavg()
            for page in PAGES:
                result = load.run(base_url + paths[page], cookie, args.seconds, args.connections)
                results.append((round_number, page, result))
            print(f"round {round_number}: load average {load_before} before, {_loadavg()} after")
        _print_results(results, sizes, load.name)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            _drop_database(database_url, args.database)
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


# --- the data ------------------------------------------------------------------------------------------


def _seed(args) -> tuple[dict[str, str], dict[str, int]]:
    """The host, their upcoming and past sessions; returns each page's path and what was seeded."""
    from django.db import connection
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import Membership, Organization, User
    from notifications.models import Notification
    from sessions_app.models import Participant, Session
    from sessions_app.services import ParticipantDetails, session_schedule
    from sessions_app.timefmt import in_zone

    organization = Organization.objects.create(name="Bench clinic", slug="bench")
    host = User.objects.create_user(
        email=HOST_EMAIL, password=HOST_PASSWORD, full_name="Dr Ada Host", time_zone="Europe/London"
    )
    Membership.objects.create(user=host, organization=organization, role="host")
    now = timezone.now()
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    upcoming = []
    for index in range(args.upcoming):
        people = [
            ParticipantDetails(
                name=f"Client {index}-{n}",
                invite_method="email",
                email=f"client-{index}-{n}@bench.test",
                time_zone="Europe/Paris",
            )
            for n in range(args.participants)
        ]
        upcoming.append(
            session_schedule(
                actor=host,
                host=host,
                title=f"Consultation {index + 1}",
                start_at=first + timedelta(hours=3 * index),
                duration_minutes=50,
                participants=people,
            )
        )
    # What the host sees once the workers have done their job: the invites went out.
    Notification.objects.filter(status=Notification.Status.PENDING, send_at__lte=timezone.now()).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), attempts=1
    )
    last_past = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    past = []
    for index in range(args.past):
        start = last_past - timedelta(hours=6 * index)
        cancelled = index % 10 == 9
        past.append(
            Session(
                organization=organization,
                host=host,
                title=f"Past consultation {index + 1}",
                start_at=start,
                duration_minutes=50,
                end_at=start + timedelta(minutes=50),
                status=Session.Status.CANCELLED if cancelled else Session.Status.COMPLETED,
                cancelled_at=start - timedelta(days=1) if cancelled else None,
                cancel_reason="The client is unwell." if cancelled else "",
                no_show=not cancelled and index % 7 == 6,
                created_by=host,
            )
        )
    past = Session.objects.bulk_create(past, batch_size=500)
    Participant.objects.bulk_create(
        [
            Participant(
                session=session,
                name=f"Former client {session.pk}-{n}",
                email=f"former-{session.pk}-{n}@bench.test",
                time_zone="Europe/Paris",
            )
            for session in past
            for n in range(3)
        ],
        batch_size=1_000,
    )
    # The calendar's week is the one the first upcoming session falls in, whatever today's weekday.
    first_day = in_zone(upcoming[0].start_at, host.time_zone).date() if upcoming else now.date()
    paths = {
        "trivial": reverse("bench_trivial"),
        "dashboard": reverse("sessions:dashboard"),
        "session": reverse("sessions:detail", kwargs={"pk": upcoming[0].pk}) if upcoming else "/",
        "calendar": f"{reverse('sessions:calendar')}?view=week&date={first_day.isoformat()}",
        "history": reverse("sessions:history"),
    }
    # The planner's statistics, as autovacuum keeps them on a database in use: without them it guesses one
    # row for the host's 2,000 sessions, and which page waits on that depends on when autovacuum looks.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seeded = {
        "upcoming": len(upcoming),
        "participants": args.participants,
        "past": len(past),
        "notices": Notification.objects.count(),
    }
    return paths, seeded


# --- the server ----------------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn serving config.wsgi with sync workers, in its own process group."""

    def __init__(self, port: int, workers: int, log: Path):
        self.log = log.open("wb")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            command, cwd=REPO_ROOT, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited with {self.process.returncode}; see {log}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/login/")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"gunicorn did not serve the login page within {READY_TIMEOUT} s; see {log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _log_in(base_url: str) -> str:
    """Logs in through the real login page; returns the Cookie header of the logged-in browser."""
    import requests

    browser = requests.Session()
    page = browser.get(f"{base_url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        f"{base_url}/login/",
        data={"csrfmiddlewaretoken": token, "username": HOST_EMAIL, "password": HOST_PASSWORD},
        headers={"Referer": f"{base_url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "sessionid" not in browser.cookies:
        sys.exit(f"Logging in failed: {answer.status_code}")
    return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def _check_page(url: str, cookie: str) -> int:
    """The page answers 200 to the logged-in host; returns its size in bytes."""
    import requests

    answer = requests.get(url, headers={"Cookie": cookie}, allow_redirects=False, timeout=30)
    if answer.status_code != 200:
        sys.exit(f"{url} answered {answer.status_code}")
    return len(answer.content)


# --- the load ------------------------------------------------------------------------------------------


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int


class Wrk:
    name = "wrk"

    def run(self, url: str, cookie: str, seconds: float, connections: int) -> Result:
        command = [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "30s",
            "-H",
            f"Cookie: {cookie}",
            url,
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
        if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
            sys.exit(f"{url}: {match.group(1)} answers were not 2xx or 3xx\n{output}")
        if "Socket errors" in output:
            print(f"warning: {url}: {re.search(r'Socket errors.*', output).group(0)}", file=sys.stderr)
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        count = int(re.search(r"(\d+) requests in", output).group(1))
        return Result(rate, _wrk_ms(output, "50%"), _wrk_ms(output, "99%"), count)


def _wrk_ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


class PythonLoad:
    """One thread per connection, each sending the next request as soon as the last answer is read."""

    name = "Python load generator (http.client)"

    def run(self, url: str, cookie: str, seconds: float, connections: int) -> Result:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        began = time.monotonic()
        deadline = began + seconds

        def client():
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            mine = []
            while time.monotonic() < deadline:
                sent = time.perf_counter()
                connection.request("GET", target, headers={"Cookie": cookie})
                answer = connection.getresponse()
                answer.read()
                mine.append(time.perf_counter() - sent)
                if answer.status >= 400:
                    failures.append(str(answer.status))
            connection.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        if failures:
            sys.exit(f"{url}: {len(failures)} answers were errors ({failures[0]}, ...)")
        latencies.sort()
        return Result(
            len(latencies) / elapsed,
            latencies[len(latencies) // 2] * 1000,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            len(latencies),
        )


# --- the report ----------------------------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _environment(args, database_url: str, seeded: dict[str, int], paths: dict[str, str]) -> str:
    with _admin_connection(database_url) as admin:
        postgres = admin.execute("SHOW server_version").fetchone()[0]
    wrk = "absent"
    if shutil.which("wrk"):
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()  # noqa: S603, S607
    import django
    import gunicorn

    return "\n".join(
        [
            f"machine: {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"gunicorn {gunicorn.__version__} ({args.workers} sync workers), "
            f"PostgreSQL {postgres}, {wrk}",
            f"data: {seeded['upcoming']} upcoming sessions x {seeded['participants']} participants, "
            f"{seeded['past']} past sessions x 3 participants, {seeded['notices']} notices",
            f"load: {args.connections} connections, {args.seconds:g} s per page, {args.rounds} rounds",
            "pages: " + ", ".join(f"{page} {path}" for page, path in paths.items()),
        ]
    )


def _print_results(results, sizes: dict[str, int], load_name: str) -> None:
    print(f"\nload generator: {load_name}")
    print(f"{'round':>5}  {'page':<10} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'KiB':>7}")
    trivial = {round_number: r for round_number, page, r in results if page == "trivial"}
    ratios: dict[str, list[float]] = {page: [] for page in PAGES}
    for round_number, page, result in results:
        ratio = result.requests_per_second / trivial[round_number].requests_per_second
        ratios[page].append(ratio)
        print(
            f"{round_number:>5}  {page:<10} {result.requests_per_second:>8.1f} {ratio:>6.2f} "
            f"{result.p50_ms:>8.1f} {result.p99_ms:>8.1f} {sizes[page] / 1024:>7.1f}"
        )
    print("\nratio to the trivial page (median of the rounds, then each round):")
    for page in PAGES[1:]:
        each = " ".join(f"{ratio:.2f}" for ratio in ratios[page])
        print(f"  {page:<10} {statistics.median(ratios[page]):.2f}   ({each})")


if __name__ == "__main__":
    sys.exit(main())
