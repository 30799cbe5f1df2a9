"""manage.py bootstrap_desk: first-run setup (instruments, strategies, sizing config, admin, paper account)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from trading.services.bootstrap import bootstrap_desk


class Command(BaseCommand):
    help = "Set up a fresh desk; safe to run again. Admin login from DESK_ADMIN_USER/DESK_ADMIN_PASSWORD."

    def handle(self, *args, **options):
        report = bootstrap_desk(
            admin_username=os.environ.get("DESK_ADMIN_USER", "admin"),
            admin_password=os.environ.get("DESK_ADMIN_PASSWORD") or None,
        )
        self.stdout.write(
            f"instruments +{report.instruments_created}, strategies +{report.strategies_created}, "
            f"configs +{report.configs_created}, sizing config loaded: {report.sizing_config_loaded}"
        )
        if report.admin_password:
            self.stdout.write(self.style.WARNING(
                f"Admin login created: user {report.admin_username!r}, password {report.admin_password!r} "
                "(shown only this once; change it in the admin)"
            ))
