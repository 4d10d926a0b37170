"""Notices sent before join links were cut out of the kept copy still hold working links in their bodies:
the same cut, applied to what is already stored."""

import re

from django.db import migrations

# A join link with or without the site in front, its token percent-encoded or not.
JOIN_LINK = re.compile(r"(?:https?://[^\s/]+)?/join/[^\s/]+/?")


def redact_body(body: str) -> str:
    return JOIN_LINK.sub("[join link]", body)


def redact_stored_bodies(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    rows = Notification.objects.filter(body__contains="/join/").only("pk", "body")
    changed = []
    for row in rows.iterator(chunk_size=1000):
        row.body = redact_body(row.body)
        changed.append(row)
        if len(changed) == 1000:
            Notification.objects.bulk_update(changed, ["body"])
            changed = []
    Notification.objects.bulk_update(changed, ["body"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_notice_withdrawn_status"),
    ]

    operations = [
        migrations.RunPython(redact_stored_bodies, migrations.RunPython.noop),
    ]
