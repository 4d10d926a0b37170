"""The heavy part of a page, kept rendered while the rows it shows are unchanged.

A host's pages spend most of their time loading a few hundred rows into model instances and rendering them
(docs/benchmarks.md, "Pages"), and most loads of a page find the same rows as the last one. So a page hands
its heavy part to `page_fragment` as a template and a function that loads that template's context. The
first time, the fragment is rendered while every query it makes is recorded. On the next request those
queries run again inside one statement that returns only a digest of their rows (on PostgreSQL an md5 of
each row's text, worked out by the database), and the stored HTML is served when the digest is the same.

So a fragment is never older than its data: any change to a row it read (a reschedule, a notice sent, a
participant's answer, a renamed room) changes the digest, whoever made it and however it was written
(a service, a worker's bulk update, the admin). What the database cannot see is the clock: a fragment
lives at most PAGE_FRAGMENT_MAX_AGE seconds, and no longer than the first moment the page says its look
changes (a session's Connect button appearing, its start, its end).

Entries live in this process's memory, not the shared cache: they are only worth keeping for a few
seconds, and a process never serves HTML that an older release of the code rendered.
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.dispatch import receiver
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from config.prepared import execute_prepared, statement_name

# Rendered in place of the request's CSRF token and swapped for it when the fragment is served: the token
# is masked afresh for every response and belongs to one browser's session, not to the fragment.
CSRF_PLACEHOLDER = "page-fragment-csrf-token"
MAX_ENTRIES = 256
_WRITES = ("insert", "update", "delete")


@dataclass(frozen=True)
class _Entry:
    reads: tuple[tuple[str, tuple], ...]
    statement: str  # PostgreSQL's digest statement, and the name it is prepared under
    name: str
    digest: str
    html: str
    built: datetime
    expires: datetime


class _Store:
    """A small least-recently-used map, shared by the threads of one process."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: datetime) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.built <= now < entry.expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


store = _Store()


@receiver(setting_changed)
def _forget_on_setting_change(**kwargs) -> None:
    """A test that changes a setting sees pages rendered under it (production never changes one live)."""
    store.clear()


class _Recorder:
    """Records the SELECTs a fragment makes while it renders; a write makes the fragment one not to keep."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, tuple]] = []
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        verb = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
        if verb == "select" and not many:
            if params is None:
                # The digest runs the reads with parameters, so a literal % must be written as the driver
                # expects it then.
                sql, params = sql.replace("%", "%%"), ()
            self.reads.append((sql, tuple(params)))
        elif verb in _WRITES or many:
            self.wrote = True
        return execute(sql, params, many, context)


def _statement(reads: tuple[tuple[str, tuple], ...]) -> str:
    """PostgreSQL: the reads as one statement that returns a digest of all their rows, parameters written in,
    so that it can be prepared. Only 32 characters per read come back: the rows never leave the database."""
    # The reads are SQL Django compiled for this fragment; their parameters are the driver's to write in.
    parts = [
        f"(SELECT md5(coalesce(string_agg(md5(r::text), ','), '')) FROM ({sql}) r)"  # noqa: S608
        for sql, _ in reads
    ]
    params = [param for _, read_params in reads for param in read_params]
    return connection.ops.compose_sql(f"SELECT md5(concat_ws(',', {', '.join(parts)}))", params)  # noqa: S608


def _digest(reads: tuple[tuple[str, tuple], ...], statement: str, name: str) -> str:
    """A digest of every row the reads return now, in their order."""
    if not reads:
        return ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A page served again is one EXECUTE, planned once per connection instead of on every request
            # (the planning was half of the digest's time).
            execute_prepared(connection, cursor, name=name, statement=statement)
            return cursor.fetchone()[0]
        # Elsewhere (SQLite on one machine) the rows are read back and hashed here.
        digest = hashlib.md5(usedforsecurity=False)
        for sql, params in reads:
            cursor.execute(sql, params)
            digest.update(repr(cursor.fetchall()).encode())
            digest.update(b"\x00")
        return digest.hexdigest()


def _key(request, name: str, vary: tuple) -> str:
    parts = (
        name,
        request.user.pk,
        request.get_full_path(),
        timezone.get_current_timezone_name(),
        translation.get_language(),
        *vary,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _served(request, html: str) -> SafeString:
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    return mark_safe(html)  # noqa: S308 - our own template's output, escaped when it was rendered


def page_fragment(
    request,
    *,
    name: str,
    template: str,
    load: Callable[[], dict],
    vary: tuple = (),
    changes_at: Callable[[dict], datetime | None] | None = None,
) -> SafeString:
    """`template` rendered with what `load()` returns, or the same HTML kept from an earlier request of this
    viewer for this address if every row it read is unchanged.

    Everything the fragment shows must be read inside `load` (an object the view loaded before is loaded
    again there), or be in `vary`. `changes_at(context)` is the next moment the fragment would look
    different with the same rows; it is kept no longer than that."""
    if settings.PAGE_FRAGMENT_MAX_AGE <= 0:
        return render_to_string(template, load(), request)
    key = _key(request, name, vary)
    now = timezone.now()
    entry = store.get(key, now)
    if entry is not None and _digest(entry.reads, entry.statement, entry.name) == entry.digest:
        return _served(request, entry.html)
    recorder = _Recorder()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # The rows rendered and the digest kept come from one snapshot, so a change committed while the
            # fragment renders cannot hide behind a digest of the newer rows.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with connection.execute_wrapper(recorder):
            context = load()
            html = render_to_string(template, {**context, "csrf_token": CSRF_PLACEHOLDER}, request)
        reads = tuple(recorder.reads)
        statement = _statement(reads) if reads and connection.vendor == "postgresql" else ""
        name = statement_name("page_fragment", statement)
        digest = _digest(reads, statement, name)
    expires = now + timedelta(seconds=settings.PAGE_FRAGMENT_MAX_AGE)
    change = changes_at(context) if changes_at else None
    if change is not None and change > now:
        expires = min(expires, change)
    if not recorder.wrote:
        store.put(
            key,
            _Entry(
                reads=reads,
                statement=statement,
                name=name,
                digest=digest,
                html=html,
                built=now,
                expires=expires,
            ),
        )
    return _served(request, html)
