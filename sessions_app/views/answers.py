"""The host's side of the participants' own answers (sessions_app.services.participant_answers): a request
for another time is marked as dealt with."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.urls import reverse

from config.errors import ApplicationError
from sessions_app.selectors import participant_get_for, session_get_for
from sessions_app.services import participant_request_done
from sessions_app.views.common import refuse_method, safe_next_url


@login_required
def participant_request_done_view(request, pk: int, participant_pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    participant = participant_get_for(session=session, pk=participant_pk)
    if refused := refuse_method(request, "POST"):
        return refused
    try:
        participant_request_done(actor=request.user, participant=participant)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{participant.name}'s request for another time is marked as done.")
    return HttpResponseRedirect(safe_next_url(request, reverse("sessions:detail", kwargs={"pk": session.pk})))
