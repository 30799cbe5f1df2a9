"""manage.py sizing_config import|export PATH: the desk's master sizing YAML."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from trading.services.sizing_config import (
    ConfigFileError,
    export_sizing_config,
    import_sizing_config,
    read_file,
)


class Command(BaseCommand):
    help = "Import or export the master sizing config (YAML). Import is all-or-nothing."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("path", help="YAML file to read, or to write ('-' for stdout on export)")

    def handle(self, *args, action: str, path: str, **options):
        if action == "export":
            text = export_sizing_config()
            if path == "-":
                self.stdout.write(text)
            else:
                Path(path).write_text(text)
                self.stdout.write(f"wrote {path}")
            return
        try:
            desk = import_sizing_config(text=read_file(Path(path)))
        except (ConfigFileError, ValidationError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(f"imported {path}: starting capital {desk.starting_capital} USDT")
