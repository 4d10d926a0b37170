from django.db.models import Q, QuerySet

from accounts.models import Invitation, Membership, User


def hosting_memberships(*, organization_id: int) -> QuerySet[Membership]:
    """The memberships that host sessions: hosts, and admins who also host."""
    return Membership.objects.filter(organization_id=organization_id).filter(
        Q(role=Membership.Role.HOST) | Q(role=Membership.Role.ADMIN, admin_hosts=True)
    )


def hosts_of_organization(*, organization_id: int) -> QuerySet[User]:
    """The organisation's active members who host sessions, by name."""
    return User.objects.filter(
        is_active=True, id__in=hosting_memberships(organization_id=organization_id).values("user_id")
    ).order_by("full_name")


def hosts_actor_may_act_for(*, actor: User) -> QuerySet[User]:
    """Whose sessions the actor manages. A scheduler books for every host of their organisation, or only
    for the hosts an admin gave them; an admin for every host (themself too when they host); a host for
    themself alone."""
    if not actor.is_authenticated or not actor.is_active or actor.membership is None:
        return User.objects.none()
    membership = actor.membership
    if actor.is_scheduler:
        hosts = hosts_of_organization(organization_id=membership.organization_id)
        if membership.books_for_chosen_hosts:
            hosts = hosts.filter(id__in=membership.bookable_hosts.values("id"))
        return hosts
    if actor.is_host:
        return User.objects.filter(pk=actor.pk, is_active=True)
    return User.objects.none()


def members_of_organization(*, actor: User) -> QuerySet[Membership]:
    """The Team page: every member of the admin's organisation (active or not), with their user."""
    if not actor.is_authenticated or not actor.is_admin:
        return Membership.objects.none()
    return (
        Membership.objects.filter(organization_id=actor.membership.organization_id)
        .select_related("user")
        .prefetch_related("bookable_hosts")
        .order_by("user__full_name", "id")
    )


def invitations_of_organization(*, actor: User) -> QuerySet[Invitation]:
    """The Team page's invitations, newest first: the admin's organisation's only."""
    if not actor.is_authenticated or not actor.is_admin:
        return Invitation.objects.none()
    return Invitation.objects.filter(organization_id=actor.membership.organization_id).select_related(
        "invited_by"
    )


def upcoming_sessions_hosted_by(*, user: User):
    """A member's sessions still to come (or under way): what deactivating them must reassign or cancel."""
    from sessions_app.models import Session

    return Session.objects.open().filter(host=user).select_related("host", "room").order_by("start_at")
