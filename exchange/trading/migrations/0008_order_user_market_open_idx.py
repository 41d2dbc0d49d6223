"""A partial index on the open orders of a user in a market, built without locking out writes
(``CREATE INDEX CONCURRENTLY``, hence a migration outside a transaction): order entry's
open-order count read every open order of the market before it."""
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('markets', '0001_initial'),
        ('trading', '0007_feetier'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='order',
            index=models.Index(condition=models.Q(('status__in', ['pending', 'open'])), fields=['user', 'market'],
                               name='order_user_market_open_idx'),
        ),
    ]
