"""Fixtures of the scale tests: ``holding`` builds a paper account holding N positions (``holding.py``)."""

from __future__ import annotations

import pytest

from tests.scale.holding import holding_account


@pytest.fixture
def holding():
    return holding_account
