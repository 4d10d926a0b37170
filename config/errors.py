class ApplicationError(Exception):
    """A rule of the product refused the change; the message is written for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDeniedError(ApplicationError):
    pass


class ValidationFailedError(ApplicationError):
    pass
