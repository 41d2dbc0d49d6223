"""The database refuses to change or delete review history, whoever asks (raw SQL too)."""
from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION surveillance_review_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'surveillance_reviewevent is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER surveillance_reviewevent_append_only
    BEFORE UPDATE OR DELETE ON surveillance_reviewevent
    FOR EACH ROW EXECUTE FUNCTION surveillance_review_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS surveillance_reviewevent_append_only ON surveillance_reviewevent;
DROP FUNCTION IF EXISTS surveillance_review_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("surveillance", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
