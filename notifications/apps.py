from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from anymail.signals import tracking

        from notifications import checks  # noqa: F401 - registers the deploy checks
        from notifications.signals import email_tracking_record

        tracking.connect(email_tracking_record, dispatch_uid="notifications.email_tracking_record")
