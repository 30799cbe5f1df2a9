"""manage.py research walkforward ...: a walk-forward optimisation with a progress bar, printing the per-fold
in-sample/out-of-sample table and the verdict. In this process by default (data from the desk's database, or
``--data-dir`` in the shared CSV layout), or on the Celery workers with ``--celery`` (followed until done)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Walk-forward optimisation with out-of-sample verdict (DSR, PBO, Monte Carlo ruin)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["walkforward"])
        parser.add_argument("--strategy", required=True)
        parser.add_argument("--symbol", default="BTCUSDT")
        parser.add_argument("--timeframe", default="5m")
        parser.add_argument("--start", help="ISO date-time (default: the first stored bar)")
        parser.add_argument("--end", help="ISO date-time (default: the last stored bar)")
        parser.add_argument("--trials", type=int, default=30, help="trials per fold")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--train-ratio", type=float, default=3.0, help="train window / test window")
        parser.add_argument("--anchored", action="store_true")
        parser.add_argument("--sampler", default="tpe", choices=["tpe", "random", "grid"])
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--space", help="search space JSON, or @file.json")
        parser.add_argument("--leverage", type=float, required=True)
        parser.add_argument("--sizing-mode", default="fixed", choices=["fixed", "kelly"])
        parser.add_argument("--allocation", type=float)
        parser.add_argument("--kelly-fraction", type=float)
        parser.add_argument("--stop-loss-pct", type=float, help="percent of price")
        parser.add_argument("--take-profit-pct", type=float, help="percent of price")
        parser.add_argument("--capital", type=float, default=500.0)
        parser.add_argument("--no-funding", action="store_true")
        parser.add_argument("--data-dir", help="read <SYMBOL>_5m.csv.gz etc. from here instead of the database")
        parser.add_argument("--celery", action="store_true", help="run the trials on the research workers")
        parser.add_argument("--parallel", type=int, default=2, help="--celery: trial tasks in flight")
        parser.add_argument("--user", help="owner of the recorded study (required with --celery or --config)")
        parser.add_argument("--config", type=int, help="record the verdict against this StrategyConfig id")
        parser.add_argument("--json", help="write the full result here")

    def handle(self, *args, **o):
        space = None
        if o["space"]:
            text = Path(o["space"][1:]).read_text() if o["space"].startswith("@") else o["space"]
            try:
                space = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"--space: not JSON ({exc})") from exc
        settings = {"symbol": o["symbol"], "timeframe": o["timeframe"], "start": o["start"], "end": o["end"],
                    "leverage": o["leverage"], "sizing_mode": o["sizing_mode"], "allocation": o["allocation"],
                    "kelly_fraction": o["kelly_fraction"], "stop_loss_pct": o["stop_loss_pct"],
                    "take_profit_pct": o["take_profit_pct"], "initial_capital": o["capital"],
                    "funding": not o["no_funding"]}
        owner = config = None
        if o["user"]:
            owner = get_user_model().objects.filter(username=o["user"]).first()
            if owner is None:
                raise CommandError(f"--user: no user {o['user']!r}")
        if o["config"]:
            from strategies.models import StrategyConfig

            config = StrategyConfig.objects.filter(pk=o["config"]).first()
            if config is None or owner is None or config.account.owner_id != owner.pk:
                raise CommandError(f"--config: config {o['config']} not found for --user")
            from trading.services.research_gate import study_config_error

            mismatch = study_config_error(config=config, strategy=o["strategy"], settings=settings)
            if mismatch:  # before any work: the verdict must be about what the config trades
                raise CommandError(mismatch)
        try:
            if o["celery"]:
                summary, verdict, rows = self._celery(o, settings, space, owner, config)
            else:
                summary, verdict, rows = self._local(o, settings, space, owner, config)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self._print(summary, verdict, rows)

    def _bar(self, total: int):
        from tqdm import tqdm

        return tqdm(total=total, desc="trials", unit="trial", file=self.stderr._out, dynamic_ncols=True)

    def _local(self, o, settings, space, owner, config):
        from trading.services.research_runs import run_local_walkforward

        settings = {k: v for k, v in settings.items() if v is not None or k in ("start", "end")}
        bar = self._bar(o["trials"] * o["folds"])
        run = run_local_walkforward(strategy=o["strategy"], settings=settings, space=space, folds=o["folds"],
                                    train_ratio=o["train_ratio"], anchored=o["anchored"], n_trials=o["trials"],
                                    sampler=o["sampler"], seed=o["seed"], data_dir=o["data_dir"], owner=owner,
                                    config=config, progress=lambda done, total: bar.update(done - bar.n))
        bar.close()
        out = {"summary": run.result.summary, "verdict": run.verdict.to_json(), "folds": run.result.folds}
        if o["json"]:
            from trading.services.backtests import json_safe

            Path(o["json"]).write_text(json.dumps(json_safe({**out, "args": {k: v for k, v in o.items()
                                                                              if isinstance(v, str | int | float)}}),
                                                  indent=1))
        return run.result.summary, run.verdict.to_json(), run.result.folds

    def _celery(self, o, settings, space, owner, config):
        from trading.services.research import start_walkforward

        if owner is None:
            raise CommandError("--celery needs --user (the study's owner)")
        if o["data_dir"]:
            raise CommandError("--celery reads the database; import the candles instead of --data-dir")
        from trading.services.research_runs import fill_range

        settings = fill_range(settings={k: v for k, v in settings.items() if v is not None})
        study = start_walkforward(owner=owner, strategy=o["strategy"], settings=settings, space=space,
                                  folds=o["folds"], train_ratio=o["train_ratio"], anchored=o["anchored"],
                                  n_trials=o["trials"], sampler=o["sampler"], seed=o["seed"], parallel=o["parallel"],
                                  config=config)
        bar = self._bar(o["trials"] * o["folds"])
        while True:
            study.refresh_from_db()
            bar.update(study.trials_done - bar.n)
            if study.status in ("done", "failed", "cancelled"):
                break
            time.sleep(1.0)
        bar.close()
        if study.status != "done":
            raise CommandError(f"study {study.pk} {study.status}: {study.error}")
        self.stdout.write(f"study {study.pk} done")
        if o["json"]:
            Path(o["json"]).write_text(json.dumps({"summary": study.result["summary"], "verdict": study.verdict,
                                                   "folds": study.result["folds"]}, indent=1))
        return study.result["summary"], study.verdict, study.result["folds"]

    def _print(self, s, verdict, rows):
        w = self.stdout.write
        w(f"{'fold':>4} {'test window':<35} {'IS score':>9} {'IS ret':>8} {'OOS ret':>8} {'OOS tr':>6} {'fresh':>8} {'PBO':>5}")
        for r in rows:
            pbo = "-" if r.get("pbo") is None else f"{r['pbo']:.2f}"
            w(f"{r['number']:>4} {r['test_start_time'][:16] + ' .. ' + r['test_end_time'][:16]:<35} "
              f"{r['is_score']:>9.3f} {r['is_return']:>8.1%} {r['oos_return']:>8.1%} {r['oos_trades']:>6} "
              f"{r.get('oos_return_fresh', r['oos_return']):>8.1%} {pbo:>5}")
        dsr = s.get("dsr") or {}
        mc = s.get("monte_carlo") or {}
        w(f"OOS return {s['oos_return']:.1%} vs buy and hold {s['buy_and_hold_return']:.1%}; trades "
          f"{s['trade_count']}; gross {s['gross_pnl']:.2f} fees {s['fees']:.2f} funding {s['funding']:.2f} USDT")
        w(f"PBO {s['pbo'] if s['pbo'] is None else round(s['pbo'], 3)}; DSR {dsr.get('dsr')} "
          f"(p {dsr.get('p_value')}); ruin probability {mc.get('ruin_probability')}")
        w("(fresh: the fold's choice run from the starting capital, for folds after a wiped-out one)")
        w(f"VERDICT: {verdict['verdict'].upper()}")
        for reason in verdict["reasons"]:
            w(f"  - {reason}")
