"""The participant's answers on their page before the session (templates/join/not_open.html)."""

from django import forms

from sessions_app.services.participant_answers import ANSWER_MESSAGE_MAX


class ParticipantCancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=ANSWER_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ParticipantAskTimeForm(forms.Form):
    message = forms.CharField(
        label="Your message",
        max_length=ANSWER_MESSAGE_MAX,
        help_text="Which days and times would suit you?",
        error_messages={"required": "Say which times would suit you."},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
