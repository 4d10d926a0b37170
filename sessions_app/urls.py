from django.urls import path

from sessions_app.views import dashboard, participants
from sessions_app.views.actions import (
    AvailabilityView,
    CancelView,
    ChangeEndView,
    NoShowView,
    ReassignView,
    RemoveView,
    RescheduleView,
    ScheduleNextView,
)
from sessions_app.views.answers import participant_request_done_view
from sessions_app.views.calendar import calendar_view
from sessions_app.views.calendar_feed import calendar_feed
from sessions_app.views.history import history, history_csv
from sessions_app.views.reminders import reminder_settings
from sessions_app.views.rooms import (
    room_activate_view,
    room_add_view,
    room_deactivate_view,
    room_rename_view,
    rooms,
)
from sessions_app.views.schedule_availability import schedule_availability_view
from sessions_app.views.waiting_room import (
    participant_admit_view,
    participants_admit_all_view,
    waiting_room,
)
from sessions_app.views.working_hours import (
    blocked_slot_add_view,
    blocked_slot_delete_view,
    working_hours,
    working_hours_add_view,
    working_hours_remove_view,
)

app_name = "sessions"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sessions/new/", dashboard.session_schedule_view, name="schedule"),
    path("sessions/new/availability/", schedule_availability_view, name="schedule_availability"),
    path("sessions/<int:pk>/", dashboard.session_detail, name="detail"),
    path("sessions/<int:pk>/manage-menu/", dashboard.session_manage_menu, name="manage_menu"),
    path("sessions/<int:pk>/connect/", dashboard.session_connect_view, name="connect"),
    path("sessions/<int:pk>/video-room/", dashboard.session_video_room, name="video_room"),
    path("sessions/<int:pk>/participants/add/", participants.participant_add_view, name="participant_add"),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/edit/",
        participants.participant_edit_view,
        name="participant_edit",
    ),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/remind/",
        participants.participant_remind_view,
        name="participant_remind",
    ),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/remove/",
        participants.participant_remove_view,
        name="participant_remove",
    ),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/request-done/",
        participant_request_done_view,
        name="participant_request_done",
    ),
    path("sessions/<int:pk>/waiting-room/", waiting_room, name="waiting_room"),
    path(
        "sessions/<int:pk>/participants/<int:participant_pk>/admit/",
        participant_admit_view,
        name="participant_admit",
    ),
    path("sessions/<int:pk>/admit-all/", participants_admit_all_view, name="admit_all"),
    path("sessions/<int:pk>/reschedule/", RescheduleView.as_view(), name="reschedule"),
    # The free-slot answer beside a proposed time (Slot available / Host is not available / ...).
    path("sessions/<int:pk>/availability/", AvailabilityView.as_view(), name="availability"),
    path("sessions/<int:pk>/cancel/", CancelView.as_view(), name="cancel"),
    path("sessions/<int:pk>/remove/", RemoveView.as_view(), name="remove"),
    path("sessions/<int:pk>/schedule-next/", ScheduleNextView.as_view(), name="schedule_next"),
    path("sessions/<int:pk>/change-end/", ChangeEndView.as_view(), name="change_end"),
    path("sessions/<int:pk>/no-show/", NoShowView.as_view(), name="no_show"),
    path("sessions/<int:pk>/reassign/", ReassignView.as_view(), name="reassign"),
    path("working-hours/", working_hours, name="working_hours"),
    path("working-hours/add/", working_hours_add_view, name="working_hours_add"),
    path("working-hours/<int:pk>/remove/", working_hours_remove_view, name="working_hours_remove"),
    path("working-hours/blocks/add/", blocked_slot_add_view, name="blocked_slot_add"),
    path("working-hours/blocks/<int:pk>/delete/", blocked_slot_delete_view, name="blocked_slot_delete"),
    path("rooms/", rooms, name="rooms"),
    path("rooms/add/", room_add_view, name="room_add"),
    path("rooms/<int:pk>/rename/", room_rename_view, name="room_rename"),
    path("rooms/<int:pk>/deactivate/", room_deactivate_view, name="room_deactivate"),
    path("rooms/<int:pk>/activate/", room_activate_view, name="room_activate"),
    path("calendar/", calendar_view, name="calendar"),
    # The host's subscription feed: the token is a bearer secret (config/logging.py cuts it out of logs).
    path("calendar/feed/<str:token>.ics", calendar_feed, name="calendar_feed"),
    path("history/", history, name="history"),
    path("history/export.csv", history_csv, name="history_csv"),
    path("settings/reminders/", reminder_settings, name="reminder_settings"),
]
