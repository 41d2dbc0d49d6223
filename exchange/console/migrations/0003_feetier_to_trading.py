"""FeeTier belongs to trading now (``trading.0007_feetier``): removed from this app's state only;
the table ``console_feetier`` stays where it is, with its rows."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0002_deposit_approvals'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='FeeTier')],
            database_operations=[],
        ),
    ]
