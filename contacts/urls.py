from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_create_view, name="create"),
    path("import/", views.contacts_import_view, name="import"),
    path("import/<str:key>/", views.contacts_import_confirm_view, name="import_confirm"),
    path("export.csv", views.contacts_export_csv, name="export_csv"),
    path("<int:pk>/", views.contact_detail, name="detail"),
    path("<int:pk>/edit/", views.contact_edit_view, name="edit"),
    path("<int:pk>/delete/", views.contact_delete_view, name="delete"),
    path("<int:pk>/export-data/", views.contact_export_data_view, name="export_data"),
    path("<int:pk>/erase/", views.contact_erase_view, name="erase"),
    path("autocomplete/", views.contact_autocomplete, name="autocomplete"),
]
