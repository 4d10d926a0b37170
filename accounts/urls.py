from django.urls import path

from accounts.views import audit, invitations, organization, profile, scheduling, signup, team

app_name = "accounts"

urlpatterns = [
    path("scheduling/", scheduling.scheduling, name="scheduling"),
    path("scheduling/act-for/<int:host_id>/", scheduling.act_for, name="act_for"),
    path("scheduling/stop/", scheduling.stop_acting, name="stop_acting"),
    path("profile/", profile.profile, name="profile"),
    path("profile/password/", profile.PasswordChangeView.as_view(), name="password_change"),
    path("profile/email/", profile.email_change, name="email_change"),
    path("profile/email/confirm/<str:token>/", profile.email_confirm, name="email_confirm"),
    path("profile/calendar-feed/", profile.calendar_feed_create_view, name="calendar_feed_create"),
    path("profile/calendar-feed/off/", profile.calendar_feed_revoke_view, name="calendar_feed_revoke"),
    path("profile/own-calendar/", profile.calendar_source_set_view, name="calendar_source_set"),
    path("profile/own-calendar/remove/", profile.calendar_source_remove_view, name="calendar_source_remove"),
    path("organisation/settings/", organization.organization_settings, name="organization_settings"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_log_csv, name="audit_log_csv"),
    path("signup/", signup.signup, name="signup"),
    path("team/", team.team, name="team"),
    path("team/invite/", team.invite, name="team_invite"),
    path("team/invitations/<int:pk>/resend/", team.invitation_resend_view, name="invitation_resend"),
    path("team/invitations/<int:pk>/revoke/", team.invitation_revoke_view, name="invitation_revoke"),
    path("team/members/<int:pk>/role/", team.member_role, name="member_role"),
    path("team/members/<int:pk>/hosts/", team.member_hosts, name="member_hosts"),
    path("team/members/<int:pk>/deactivate/", team.member_deactivate_view, name="member_deactivate"),
    path("team/members/<int:pk>/reactivate/", team.member_reactivate_view, name="member_reactivate"),
    path("welcome/", invitations.invitation_form, name="invitation_form"),
    path("welcome/<str:token>/", invitations.invitation_open, name="invitation_accept"),
]
