from django.urls import path

from notifications import views, webhooks

app_name = "notifications"

urlpatterns = [
    path("settings/reminders/", views.reminder_settings, name="reminder_settings"),
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
]
