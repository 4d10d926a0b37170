"""Small pieces every session view uses."""

from django.http import HttpResponseNotAllowed

from accounts.errors import ApplicationError


def form_error(form, error: ApplicationError, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal, shown on the field it names when the form has one, else above the form."""
    name = (aliases or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


def require_get(request):
    return None if request.method == "GET" else HttpResponseNotAllowed(["GET"])


def require_post(request):
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])
