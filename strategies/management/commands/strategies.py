"""``manage.py strategies scan|new NAME|check [KEY...]``: register the user strategies folder, write a new
strategy from the template (with its test file), or run the bias checks now (synchronously)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Scan the user strategies folder, write a new strategy from the template, or run bias checks."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="import the folder, register strategies, run bias checks of new versions")
        scan.add_argument("--no-checks", action="store_true", help="register only; do not run bias checks")
        new = sub.add_parser("new", help="write NAME.py (an EMA-cross template) and tests/test_NAME.py")
        new.add_argument("name")
        new.add_argument("--force", action="store_true", help="overwrite existing files")
        check = sub.add_parser("check", help="run the bias checks now (all strategies when no key is given)")
        check.add_argument("keys", nargs="*")
        check.add_argument("--force", action="store_true", help="run again even if this version was checked")

    def handle(self, *args, action: str, **opts):
        return getattr(self, f"_{action}")(**opts)

    def _scan(self, *, no_checks: bool = False, **_):
        from strategies.services import run_bias_checks, scan_strategies

        report = scan_strategies()
        folder = settings.QUANTDESK_USER_STRATEGIES_DIR
        self.stdout.write(f"folder {folder}: created {report.created or '-'}, updated {report.updated or '-'}, "
                          f"unavailable {report.unavailable or '-'}")
        for e in report.errors:
            self.stderr.write(f"NOT LOADED {e['path']}: {e['message']}\n{e['traceback']}")
        if not no_checks:
            for key in report.unchecked:
                self._report(run_bias_checks(key=key))
        if report.errors:
            raise CommandError(f"{len(report.errors)} module(s) failed to load (see above); the others are registered")

    def _new(self, *, name: str, force: bool = False, **_):
        from strategies.algos import registry
        from strategies.algos.template import render

        if name in registry.shipped_names():
            raise CommandError(f"name: {name!r} is a shipped strategy")
        try:
            code, test = render(name)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        folder = Path(settings.QUANTDESK_USER_STRATEGIES_DIR)
        target, test_target = folder / f"{name}.py", folder / "tests" / f"test_{name}.py"
        for path in (target, test_target):
            if path.exists() and not force:
                raise CommandError(f"{path} exists (use --force to overwrite)")
        test_target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
        test_target.write_text(test)
        self.stdout.write(f"wrote {target}\nwrote {test_target}\nnext: ./desk manage strategies scan, then "
                          f"./desk test {test_target}")

    def _check(self, *, keys: list[str], force: bool = False, **_):
        from strategies.algos import registry
        from strategies.services import run_bias_checks, scan_strategies

        scan_strategies()
        failed = []
        for key in keys or registry.names():
            try:
                check = run_bias_checks(key=key, force=force)
            except KeyError as exc:
                raise CommandError(str(exc.args[0])) from exc
            self._report(check)
            if check.blocking_failures or check.status == "error":
                failed.append(key)
        if failed:
            raise CommandError(f"biased or broken: {', '.join(failed)}")

    def _report(self, check) -> None:
        from strategies.algos.bias_suite import first_failure_text

        head = f"{check.strategy.key} {check.source_sha256[:10]}: {check.status}"
        if check.status == "error":
            self.stdout.write(f"{head} — {check.error}")
            return
        self.stdout.write(f"{head} — {'all checks passed' if check.passed else 'FAILED'}"
                          f" ({check.bars_per_second or 0:,.0f} bars/s)")
        for name, res in check.results.get("checks", {}).items():
            mark = "ok  " if res["passed"] else "FAIL"
            self.stdout.write(f"  {mark} {name}: {res['detail'] if res['passed'] else first_failure_text(res)}")
