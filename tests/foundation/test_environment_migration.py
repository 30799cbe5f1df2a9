"""Migration 0010: Account.testnet (boolean) becomes Account.environment with the same meaning, and stored keys are
tagged with that environment (so an existing live account keeps trading where it traded)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("trading", "0009_run_records_and_list_indexes")]
AFTER = [("trading", "0010_account_environment")]


@pytest.mark.django_db(transaction=True)
def test_testnet_boolean_becomes_the_environment():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Account = old.get_model("trading", "Account")
    user = User.objects.create(username="migrated")
    main = Account.objects.create(owner=user, name="main", testnet=False, api_key_encrypted="x", api_secret_encrypted="y")
    test = Account.objects.create(owner=user, name="test", testnet=True, api_key_encrypted="x", api_secret_encrypted="y")
    bare = Account.objects.create(owner=user, name="bare", testnet=False)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("trading", "Account")
    rows = {a.pk: (a.environment, a.api_keys_environment) for a in new.objects.all()}
    assert rows == {main.pk: ("mainnet", "mainnet"), test.pk: ("testnet", "testnet"), bare.pk: ("mainnet", "")}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("trading"))  # back to the latest for the other tests
