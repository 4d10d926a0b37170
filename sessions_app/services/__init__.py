"""Every change of a session or participant goes through these functions (DESIGN.md rule 1)."""

from sessions_app.services.availability_edits import (
    blocked_slot_add,
    blocked_slot_remove,
    working_hours_add,
    working_hours_remove,
)
from sessions_app.services.changes import (
    FOLLOWING,
    KEEP_ROOM,
    THIS,
    session_cancel,
    session_change_end,
    session_connect,
    session_mark_no_show,
    session_reassign,
    session_remove,
    session_reschedule,
    sessions_complete_ended,
)
from sessions_app.services.participant_answers import (
    cancel_allowed,
    cancel_deadline,
    cancel_refused_message,
    participant_ask_another_time,
    participant_cancel_self,
    participant_confirm,
    participant_reply_record,
    participant_request_done,
)
from sessions_app.services.participants import (
    participant_add,
    participant_record_join,
    participant_remind,
    participant_remove,
    participant_update,
    participants_erase,
    participants_follow_contact,
)
from sessions_app.services.reminders import reminder_leads, reminder_settings_update, reminders_plan
from sessions_app.services.rooms import room_add, room_update
from sessions_app.services.scheduling import (
    ParticipantDetails,
    RepeatRule,
    session_schedule,
    session_schedule_next,
)
from sessions_app.services.waiting_room import (
    participant_admit,
    participant_wait,
    participants_admit_all,
)

__all__ = [
    "FOLLOWING",
    "KEEP_ROOM",
    "THIS",
    "ParticipantDetails",
    "RepeatRule",
    "blocked_slot_add",
    "blocked_slot_remove",
    "cancel_allowed",
    "cancel_deadline",
    "cancel_refused_message",
    "participant_ask_another_time",
    "participant_cancel_self",
    "participant_confirm",
    "participant_reply_record",
    "participant_request_done",
    "participant_add",
    "participant_admit",
    "participant_record_join",
    "participant_remind",
    "participant_remove",
    "participant_update",
    "participants_erase",
    "participants_follow_contact",
    "participant_wait",
    "participants_admit_all",
    "reminder_leads",
    "reminder_settings_update",
    "reminders_plan",
    "room_add",
    "room_update",
    "session_cancel",
    "session_change_end",
    "session_connect",
    "session_mark_no_show",
    "session_reassign",
    "session_remove",
    "session_reschedule",
    "session_schedule",
    "session_schedule_next",
    "sessions_complete_ended",
    "working_hours_add",
    "working_hours_remove",
]
