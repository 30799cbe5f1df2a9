"""Django app config of the strategies app: points the pure registry at the user strategies folder (cheap: the
folder is imported on first use, nothing touches the database here)."""

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        from django.conf import settings

        from strategies.algos import registry

        registry.configure(user_dir=getattr(settings, "QUANTDESK_USER_STRATEGIES_DIR", None))
