from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("settings/reminders/", views.reminder_settings, name="reminder_settings"),
]
