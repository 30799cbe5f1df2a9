"""Property-based run of the project's own OpenAPI schema (schemathesis) against the Django app over WSGI,
authenticated with a token of a user who owns an account with a full trading record: no generated input
(path, query or body) may cause a 5xx. Bounded (max examples per operation) and derandomized for CI."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error

from tests.desk_fixtures import seed_candles, trading_record
from tests.factories import make_account, make_config, make_instrument, make_strategy, make_user

MAX_EXAMPLES = int(os.environ.get("QUANTDESK_SCHEMATHESIS_EXAMPLES", "25"))




def _load_schema():
    """The schema drf-spectacular serves at /api/schema/ (which needs a login), generated in-process at import
    (its fake views need no database) and bound to the WSGI app. The schema and docs endpoints only describe
    the others, and the token endpoints would log the fuzzer out, so they are left out."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded.exclude(path_regex=r"^/api/(schema|docs|auth)/")


schema = _load_schema()


@pytest.fixture
def keep_test_connection():
    """The real WSGI handler closes the DB connection after each request; inside the test's transaction
    that would break the next one (Django's own test client disconnects the same receivers)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, keep_test_connection):
    cache.clear()  # throttle counters
    make_instrument("BTCUSDT")
    strategy = make_strategy("chandelier")
    user = make_user("fuzzer", staff=False)
    acc = make_account(user, "Fuzz")
    cfg = make_config(acc, strategy, name="fuzz-cfg")
    trading_record(acc, cfg, tag="f")
    other = make_account(make_user("other"), "Other")
    trading_record(other, None, tag="o")
    seed_candles(50)
    return AuthToken.objects.create(user=user)[1]


CALLS: Counter = Counter()  # operation -> requests made, written to artifacts/ for the record


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    out = Path(__file__).resolve().parents[2] / "artifacts" / "schemathesis-summary.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"operations": len(CALLS), "requests": sum(CALLS.values()),
                               "max_examples": MAX_EXAMPLES, "per_operation": dict(sorted(CALLS.items()))}, indent=1))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    CALLS[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    case.validate_response(response, checks=[not_a_server_error])
