from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("new/", views.document_create_view, name="document_create"),
    path("<int:pk>/", views.document_edit_view, name="document_edit"),
    path("<int:pk>/delete/", views.document_delete_view, name="document_delete"),
    path("<int:pk>/fields/add/", views.field_add_view, name="field_add"),
    path("<int:pk>/fields/<int:field_pk>/edit/", views.field_edit_view, name="field_edit"),
    path("<int:pk>/fields/<int:field_pk>/move/", views.field_move_view, name="field_move"),
    path("<int:pk>/fields/<int:field_pk>/remove/", views.field_remove_view, name="field_remove"),
    path("packets/new/", views.packet_create_view, name="packet_create"),
    path("packets/<int:pk>/", views.packet_edit_view, name="packet_edit"),
    path("packets/<int:pk>/delete/", views.packet_delete_view, name="packet_delete"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("submissions/<int:pk>/print/", views.submission_print, name="submission_print"),
    path("files/<int:pk>/", views.submission_file, name="submission_file"),
]
