from django.urls import path

from notifications import webhooks

app_name = "notifications"

urlpatterns = [
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
]
