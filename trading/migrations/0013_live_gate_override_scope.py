from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trading', '0012_account_slippage_model'),
    ]

    operations = [
        migrations.AddField(
            model_name='livegateoverride',
            name='scope',
            field=models.JSONField(blank=True, default=dict, help_text='what was overridden: {strategy, symbols, timeframe}; the override counts only while the config still trades exactly that'),
        ),
    ]
