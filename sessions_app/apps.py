from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Sessions"

    def ready(self):
        from sessions_app import checks  # noqa: F401  (registers the deploy checks)
