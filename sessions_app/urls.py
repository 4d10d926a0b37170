from django.urls import path

from sessions_app.views import dashboard

app_name = "sessions"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sessions/new/", dashboard.session_schedule_view, name="schedule"),
    path("sessions/<int:pk>/", dashboard.session_detail, name="detail"),
    path("sessions/<int:pk>/connect/", dashboard.session_connect_view, name="connect"),
    path("sessions/<int:pk>/room/", dashboard.session_room, name="room"),
]
