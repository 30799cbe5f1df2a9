"""Django app config of the trading app (connects the auth signal receivers)."""

from django.apps import AppConfig


class TradingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "trading"
    verbose_name = "Trading"

    def ready(self):
        from trading import auth_signals

        auth_signals.connect()
