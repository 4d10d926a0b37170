"""The Team page of the organisation's admins: its members and invitations, and one view per action, each
calling one service (accounts.services). Members and invitations are loaded through the admin's own
organisation (accounts.selectors), so another organisation's are a 404 like anything else not theirs."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.decorators import admin_page
from accounts.forms.team import DeactivateForm, InviteForm, RoleForm, SchedulerHostsForm
from accounts.models import Membership
from accounts.selectors import (
    hosts_of_organization,
    invitations_of_organization,
    members_of_organization,
    upcoming_sessions_hosted_by,
)
from accounts.services import (
    CANCEL,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    member_deactivate,
    member_reactivate,
    member_role_change,
    scheduler_hosts_set,
)
from config.errors import ApplicationError
from sessions_app.views.common import form_error, refuse_method


def _member(request, pk: int) -> Membership:
    return get_object_or_404(members_of_organization(actor=request.user), pk=pk)


def _hosts(request) -> list:
    return list(hosts_of_organization(organization_id=request.user.membership.organization_id))


def _after_change(request):
    # An admin who has just made themself a host or a scheduler no longer has a Team page.
    return redirect("accounts:team" if request.user.is_admin else "sessions:dashboard")


def _team_page(request, invite_form: InviteForm, status: int = 200):
    members = list(members_of_organization(actor=request.user))
    return render(
        request,
        "accounts/team.html",
        {
            "members": members,
            "invitations": list(invitations_of_organization(actor=request.user)),
            "invite_form": invite_form,
            "active_admins": sum(1 for m in members if m.role == Membership.Role.ADMIN and m.user.is_active),
        },
        status=status,
    )


@admin_page
def team(request):
    if refused := refuse_method(request, "GET"):
        return refused
    return _team_page(request, InviteForm(hosts=_hosts(request)))


@admin_page
def invite(request):
    if refused := refuse_method(request, "POST"):
        return refused
    form = InviteForm(request.POST, hosts=_hosts(request))
    if form.is_valid():
        try:
            invitation = invitation_create(actor=request.user, details=form.details())
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. The link works once, for 7 days.",
            )
            return redirect("accounts:team")
    return _team_page(request, form, status=400)


@admin_page
def invitation_resend_view(request, pk: int):
    invitation = get_object_or_404(invitations_of_organization(actor=request.user), pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        invitation = invitation_resend(actor=request.user, invitation=invitation)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Invitation sent again to {invitation.email}, with a new link; the old link no longer works.",
        )
    return redirect("accounts:team")


@admin_page
def invitation_revoke_view(request, pk: int):
    invitation = get_object_or_404(invitations_of_organization(actor=request.user), pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        invitation = invitation_revoke(actor=request.user, invitation=invitation)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"The invitation of {invitation.email} is withdrawn; its link no longer works."
        )
    return redirect("accounts:team")


@admin_page
def member_role(request, pk: int):
    membership = _member(request, pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    form = RoleForm(
        request.POST if request.method == "POST" else None,
        initial={"role": membership.role, "admin_hosts": membership.admin_hosts},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = member_role_change(
                actor=request.user,
                membership=membership,
                role=form.cleaned_data["role"],
                admin_hosts=form.cleaned_data["admin_hosts"],
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, f"{membership.user.full_name} is now {membership.role_label.lower()}.")
            return _after_change(request)
    return render(request, "accounts/team_member_role.html", {"member": membership, "form": form})


@admin_page
def member_hosts(request, pk: int):
    membership = _member(request, pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    chosen = [host.pk for host in membership.bookable_hosts.all()]
    form = SchedulerHostsForm(
        request.POST if request.method == "POST" else None,
        hosts=_hosts(request),
        initial={
            "books_for": "all" if membership.books_for_all_hosts else "chosen",
            "bookable_hosts": chosen,
        },
    )
    if request.method == "POST" and form.is_valid():
        host_ids = form.bookable_host_ids()
        try:
            membership = scheduler_hosts_set(
                actor=request.user, membership=membership, all_hosts=host_ids is None, host_ids=host_ids
            )
        except ApplicationError as error:
            form_error(form, error)
        else:
            names = ", ".join(host.full_name for host in membership.bookable_hosts.all())
            messages.success(
                request,
                f"{membership.user.full_name} now books for "
                + ("every host of the organisation." if membership.books_for_all_hosts else f"{names} only."),
            )
            return redirect("accounts:team")
    return render(request, "accounts/team_member_hosts.html", {"member": membership, "form": form})


@admin_page
def member_deactivate_view(request, pk: int):
    membership = _member(request, pk)
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    sessions = list(upcoming_sessions_hosted_by(user=membership.user))
    form = DeactivateForm(
        request.POST if request.method == "POST" else None,
        has_sessions=bool(sessions),
        new_hosts=[host for host in _hosts(request) if host.pk != membership.user_id],
    )
    if request.method == "POST" and form.is_valid():
        choice = form.choice()
        try:
            membership = member_deactivate(actor=request.user, membership=membership, **choice)
        except ApplicationError as error:
            form_error(form, error)
        else:
            messages.success(request, _deactivated_message(membership, len(sessions), choice))
            return redirect("accounts:team")
    return render(
        request,
        "accounts/team_member_deactivate.html",
        {"member": membership, "form": form, "sessions": sessions},
    )


def _deactivated_message(membership: Membership, count: int, choice: dict) -> str:
    said = f"{membership.user.full_name} is deactivated and can no longer log in."
    if not count:
        return said
    sessions, are = (f"{count} upcoming sessions", "are") if count != 1 else ("upcoming session", "is")
    if choice["upcoming"] == CANCEL:
        return f"{said} Their {sessions} {are} cancelled; the participants are being told."
    return f"{said} Their {sessions} {are} now with {choice['new_host'].full_name}, who has been emailed."


@admin_page
def member_reactivate_view(request, pk: int):
    membership = _member(request, pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        membership = member_reactivate(actor=request.user, membership=membership)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user.full_name} is active again and can log in.")
    return redirect(reverse("accounts:team"))
