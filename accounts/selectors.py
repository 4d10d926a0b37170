from django.db.models import QuerySet

from accounts.models import Membership, User


def hosts_of_organization(*, organization_id: int) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True,
        id__in=Membership.objects.filter(organization_id=organization_id, role=Membership.Role.HOST).values(
            "user_id"
        ),
    ).order_by("full_name")


def hosts_actor_may_act_for(*, actor: User) -> QuerySet[User]:
    """A host acts for themself; a scheduler (or admin) for any host of their own organisation."""
    if actor.is_host:
        return User.objects.filter(pk=actor.pk)
    if actor.is_scheduler and actor.organization is not None:
        return hosts_of_organization(organization_id=actor.organization.id)
    return User.objects.none()
