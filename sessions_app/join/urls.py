from django.urls import path

from documents import participant_views
from sessions_app.join import views as join_views

app_name = "join"

urlpatterns = [
    path("", join_views.join_lobby, name="lobby"),
    # Fixed words before the token's catch-all: a token is never one of them (43 base64url characters).
    path("waiting/", join_views.join_waiting_status, name="waiting_status"),
    path("room/", join_views.join_room, name="room"),
    path("documents/", participant_views.participant_documents, name="documents"),
    path("documents/<int:document_pk>/", participant_views.participant_document, name="document"),
    path("<str:token>/", join_views.join_enter, name="enter"),
]
