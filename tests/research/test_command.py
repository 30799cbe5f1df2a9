"""manage.py research walkforward: from the database (range defaulting to the stored bars), progress bar on
stderr, the fold table and verdict on stdout, the study recorded against a config; bad input names the field."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.desk_fixtures import seed_candles
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user
from trading.models import ResearchStudy

pytestmark = pytest.mark.django_db


def test_walkforward_from_the_database_prints_the_verdict_and_records_it():
    make_instrument("BTCUSDT")
    seed_candles(1600)
    alice = make_user("alice")
    cfg = make_config(make_account(alice), make_strategy("chandelier"), leverage=Decimal("10"), allocation=Decimal("0.3"))
    out, err = io.StringIO(), io.StringIO()
    call_command("research", "walkforward", "--strategy", "chandelier", "--leverage", "10", "--allocation", "0.3",
                 "--no-funding", "--folds", "2", "--trials", "3", "--sampler", "random", "--user", "alice",
                 "--config", str(cfg.pk), "--space", '{"params": {"length": {"low": 5, "high": 30}}}',
                 stdout=out, stderr=err)
    text = out.getvalue()
    assert "VERDICT:" in text and "OOS return" in text and text.count("\n   ") >= 2  # two fold rows
    assert "6/6" in err.getvalue()  # the progress bar reached every trial
    study = ResearchStudy.objects.get(config=cfg)
    assert study.status == "done" and study.verdict["verdict"].upper() in text
    assert len(study.folds) == 2 and study.result["folds"]


def test_bad_input_names_the_field():
    make_instrument("BTCUSDT")
    seed_candles(1600)
    with pytest.raises(CommandError, match="allocation"):
        call_command("research", "walkforward", "--strategy", "chandelier", "--leverage", "10", "--allocation",
                     "0.05", "--folds", "2", "--trials", "3", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="space"):
        call_command("research", "walkforward", "--strategy", "chandelier", "--leverage", "10", "--allocation",
                     "0.3", "--space", "{nope", stdout=io.StringIO(), stderr=io.StringIO())
