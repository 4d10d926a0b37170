from django.urls import path

from notifications import webhooks

app_name = "notifications"

urlpatterns = [
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
    # The address anymail gives each ESP's tracking webhook, answered only for the ESP that sends our mail.
    path("anymail/<str:esp>/tracking/", webhooks.email_tracking, name="email_tracking"),
]
