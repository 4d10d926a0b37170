from django.urls import path

from sessions_app import views

app_name = "sessions"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sessions/new/", views.session_schedule_view, name="schedule"),
    path("sessions/<int:pk>/", views.session_detail, name="detail"),
    path("sessions/<int:pk>/connect/", views.session_connect_view, name="connect"),
    path("sessions/<int:pk>/room/", views.session_room, name="room"),
]
