"""Account.testnet (a boolean) becomes Account.environment (mainnet / testnet / demo) with the same meaning:
testnet=True -> "testnet", testnet=False -> "mainnet". Stored keys are tagged with that environment."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Account = apps.get_model("trading", "Account")
    for acc in Account.objects.all().only("pk", "testnet", "api_key_encrypted"):
        env = "testnet" if acc.testnet else "mainnet"
        Account.objects.filter(pk=acc.pk).update(environment=env,
                                                 api_keys_environment=env if acc.api_key_encrypted else "")


def backwards(apps, schema_editor):
    Account = apps.get_model("trading", "Account")
    Account.objects.exclude(environment="mainnet").update(testnet=True)
    Account.objects.filter(environment="mainnet").update(testnet=False)


class Migration(migrations.Migration):

    dependencies = [
        ("trading", "0009_run_records_and_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="environment",
            field=models.CharField(
                choices=[("mainnet", "Mainnet (api.bybit.com, real money)"),
                         ("testnet", "Testnet (api-testnet.bybit.com)"),
                         ("demo", "Demo trading (api-demo.bybit.com)")],
                default="testnet",
                help_text="Which Bybit a live account trades on. API keys belong to one environment: switching "
                          "needs that environment's key and secret.",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="api_keys_environment",
            field=models.CharField(
                blank=True,
                choices=[("mainnet", "Mainnet (api.bybit.com, real money)"),
                         ("testnet", "Testnet (api-testnet.bybit.com)"),
                         ("demo", "Demo trading (api-demo.bybit.com)")],
                default="",
                editable=False,
                max_length=8,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="account", name="testnet"),
    ]
