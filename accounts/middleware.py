from django.utils import timezone

from accounts.selectors import hosts_actor_may_act_for

ACTING_FOR_SESSION_KEY = "acting_for_host_id"


class ActingForMiddleware:
    """Sets request.host: the host whose sessions the page works on.

    A host always works on their own sessions. A scheduler (or an admin) chooses a host on the Scheduling
    tab; the choice is kept in their login session and checked against the hosts they may book for on every
    request, so a host who leaves the organisation (or is taken off their list) stops being reachable at
    once. An admin who also hosts works on their own sessions when they have chosen nobody else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.host = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            host_id = request.session.get(ACTING_FOR_SESSION_KEY) if user.is_scheduler else None
            if host_id is not None:
                request.host = hosts_actor_may_act_for(actor=user).filter(pk=host_id).first()
                if request.host is None:
                    request.session.pop(ACTING_FOR_SESSION_KEY, None)
            # A host works on their own sessions; so does an admin who hosts, until they choose a colleague.
            if request.host is None and user.is_host:
                request.host = user
        return self.get_response(request)


class UserTimeZoneMiddleware:
    """Renders every page in its reader's time zone (DESIGN.md rule 3): template date filters convert
    to the active zone, so the logged-in person's zone is activated for the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            with timezone.override(user.zone):
                return self.get_response(request)
        return self.get_response(request)
