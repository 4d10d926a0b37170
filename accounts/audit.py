from django.db import models

from accounts.models import AuditEvent, User


def audit_record(
    *,
    actor: User | None,
    acting_for: User | None,
    action: str,
    obj: models.Model,
    organization_id: int,
    details: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=actor,
        acting_for=acting_for,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details or {},
    )
