class ApplicationError(Exception):
    """A rule of the product refused the change; the message is written for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        # The separate reasons `message` joins (a refused booking can have several), for a form that shows
        # each on its own line; callers that show one text keep using `message`.
        self.details = list(details or [])


class PermissionDeniedError(ApplicationError):
    pass


class ValidationFailedError(ApplicationError):
    pass
