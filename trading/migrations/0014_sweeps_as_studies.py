from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trading', '0013_live_gate_override_scope'),
    ]

    operations = [
        migrations.AddField(
            model_name='researchstudy',
            name='kind',
            field=models.CharField(choices=[('walkforward', 'Walk-forward optimisation'), ('sweep', 'Grid sweep (one BacktestRun per point)')], default='walkforward', max_length=12),
        ),
        migrations.AddField(
            model_name='researchstudy',
            name='sweep_key',
            field=models.CharField(blank=True, db_index=True, default='', help_text='a sweep: the key its BacktestRuns share', max_length=32),
        ),
    ]
