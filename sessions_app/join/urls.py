from django.urls import path

from billing import participant_views as billing_participant_views
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
    path("pay/", billing_participant_views.participant_pay, name="pay"),
    path("pay/return/", billing_participant_views.participant_pay_return, name="pay_return"),
    path("confirm/", join_views.join_confirm, name="confirm"),
    path("cancel/", join_views.join_cancel, name="cancel"),
    path("another-time/", join_views.join_ask_another_time, name="ask_another_time"),
    path("cancelled/", join_views.join_place_cancelled, name="place_cancelled"),
    path("calendar.ics", join_views.join_calendar, name="calendar"),
    path("<str:token>/", join_views.join_enter, name="enter"),
]
