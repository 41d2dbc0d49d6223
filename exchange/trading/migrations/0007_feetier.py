"""FeeTier moves from the console to trading (the fee schedule is trading's; the console edits
it): added to this app's state only, on the existing table ``console_feetier``."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0003_feetier_to_trading'),
        ('markets', '0001_initial'),
        ('trading', '0006_unapplied_commands_by_age'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FeeTier',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('min_volume', models.DecimalField(decimal_places=18, help_text='30-day traded notional, in the quote asset.', max_digits=38)),
                        ('maker_fee', models.DecimalField(decimal_places=8, max_digits=9)),
                        ('taker_fee', models.DecimalField(decimal_places=8, max_digits=9)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('quote', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fee_tiers', to='markets.asset')),
                    ],
                    options={
                        'db_table': 'console_feetier',
                        'ordering': ['quote__symbol', 'min_volume'],
                        'constraints': [models.UniqueConstraint(fields=('quote', 'min_volume'), name='fee_tier_unique_threshold'), models.CheckConstraint(condition=models.Q(('min_volume__gte', 0)), name='fee_tier_min_volume_gte_0'), models.CheckConstraint(condition=models.Q(('maker_fee__gte', 0), ('taker_fee__gte', 0)), name='fee_tier_fees_gte_0')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
