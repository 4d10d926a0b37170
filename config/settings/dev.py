from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The development outbox page (/dev/outbox/) lists every notice with its join link.
DEV_OUTBOX = True
