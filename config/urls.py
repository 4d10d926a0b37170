from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views.scheduling import LoginView, PasswordResetView
from config.health import healthz
from sessions_app.views.reminders import dev_outbox

urlpatterns = [
    path("", include("sessions_app.urls")),
    path("", include("accounts.urls")),
    path("join/", include("sessions_app.join.urls")),
    path("", include("notifications.urls")),
    path("contacts/", include("contacts.urls")),
    path("documents/", include("documents.urls")),
    path("", include("billing.urls")),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

if getattr(settings, "DEV_OUTBOX", False):
    urlpatterns.append(path("dev/outbox/", dev_outbox, name="dev_outbox"))
