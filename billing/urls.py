from django.urls import path

from billing import views
from billing.webhooks import stripe_webhook

app_name = "billing"

urlpatterns = [
    path("payments/", views.payment_list, name="payments"),
    path("payments/export.csv", views.payments_csv, name="payments_csv"),
    path("payments/services/", views.service_list, name="services"),
    path("payments/services/new/", views.service_create_view, name="service_create"),
    path("payments/services/<int:pk>/edit/", views.service_edit_view, name="service_edit"),
    path("payments/services/<int:pk>/deactivate/", views.service_deactivate_view, name="service_deactivate"),
    path("payments/settings/", views.billing_settings, name="settings"),
    path("payments/settings/connect/", views.stripe_connect_view, name="connect"),
    path("payments/settings/connect/return/", views.stripe_connect_return, name="connect_return"),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
]
