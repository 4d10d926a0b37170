def acting_for(request):
    user = getattr(request, "user", None)
    host = getattr(request, "host", None)
    acting = bool(user and user.is_authenticated and host is not None and host.pk != user.pk)
    return {"acting_for": host if acting else None, "current_host": host}
