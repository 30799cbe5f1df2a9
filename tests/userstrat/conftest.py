"""Fixtures for the user-strategy tests: a temporary strategies folder the registry and the setting point at,
bias checks sized for a test (at least 500 window positions still), and a desk with a paper account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.algos import registry
from tests.factories import make_account, make_instrument, make_user
from tests.strategies.user_files import PEEKER, RUNNING_MAX, SYNTAX_ERROR, template, write


@pytest.fixture
def folder(tmp_path, settings):
    path = tmp_path / "user_strategies"
    path.mkdir()
    settings.QUANTDESK_USER_STRATEGIES_DIR = path
    settings.QUANTDESK_BIAS_CHECK_BARS = 2500
    settings.QUANTDESK_BIAS_SPEED_BARS = 5000
    settings.QUANTDESK_BIAS_POSITIONS = 500
    registry.configure(user_dir=path)
    yield path
    registry.configure(user_dir=None)


@pytest.fixture
def dropped(folder):
    """The template, the two planted-bias strategies and a broken module, dropped into the folder."""
    return write(folder, {"my_cross.py": template("my_cross"), "peeker.py": PEEKER, "running_max.py": RUNNING_MAX,
                          "broken.py": SYNTAX_ERROR})


@pytest.fixture
def people(db):
    make_instrument("BTCUSDT")
    trader, staff = make_user("trader"), make_user("root", staff=True)
    return {"trader": trader, "staff": staff, "account": make_account(trader, "Paper", starting_capital=Decimal("500"))}
