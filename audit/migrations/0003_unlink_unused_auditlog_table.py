"""django-auditlog's own table stays (its migrations create it even though
AUDITLOG_LOGENTRY_MODEL points here), empty and unused. On PostgreSQL its
foreign keys to users and content types would make every TRUNCATE of those
tables fail (Django's flush, so the browser tests' teardown): they go.
"""

from django.db import migrations

DROP_FOREIGN_KEYS = """
DO $$
DECLARE constraint_name text;
BEGIN
    FOR constraint_name IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'auditlog_logentry'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE auditlog_logentry DROP CONSTRAINT %I', constraint_name);
    END LOOP;
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FOREIGN_KEYS, params=None)  # its % are plpgsql's


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_on_postgresql"), ("auditlog", "0017_add_actor_email")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
