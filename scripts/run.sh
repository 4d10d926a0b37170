#!/usr/bin/env bash
# Starts the web server, one Celery worker and beat together; Ctrl-C stops all three.
set -euo pipefail
PY=${PY:-.venv/bin/python}
# Exported: the settings derive the site's address (SITE_URL, in every join link) from it, and the worker
# and beat build links in notices too (config/settings/base.py).
export PORT=${PORT:-8000}
CELERY="$(dirname "$PY")/celery"
mkdir -p var/celery/queue var/celery/processed var/mail var/sms

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping…"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$CELERY" -A config worker --loglevel=INFO --concurrency=1 --hostname="worker@%h" &
pids+=($!)
"$CELERY" -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule &
pids+=($!)
"$PY" manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)

cat <<MSG

  Consultations is running at http://127.0.0.1:$PORT/
  Log in as (password demo-pass-123):
    host@demo.test        a host
    host2@demo.test       a second host
    scheduler@demo.test   a scheduler for both
  Notices sent so far: http://127.0.0.1:$PORT/dev/outbox/
  Press Ctrl-C to stop the server, the worker and beat.

MSG
wait -n "${pids[@]}"
