from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("autocomplete/", views.contact_autocomplete, name="autocomplete"),
]
