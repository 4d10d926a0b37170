from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The development outbox page (/dev/outbox/) lists every notice with its join link.
DEV_OUTBOX = True
# A calendar served on this machine can be read as a host's own calendar (production refuses it).
CALENDAR_FETCH_ALLOW_PRIVATE = env.bool("CALENDAR_FETCH_ALLOW_PRIVATE", default=True)
