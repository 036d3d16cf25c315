from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Sequence entries"

    def ready(self) -> None:
        from submissions import checks  # noqa: F401 - registers the organisms check
