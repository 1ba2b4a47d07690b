"""On PostgreSQL the audit tables refuse UPDATE and DELETE, whoever asks
(the application, the admin, a psql session of the app's role): an entry
can only be added, and an erased patient's entries redacted (nothing else
of them changes; `verify_audit` lists redactions without an erasure). SQLite (development) has no such guard; the hash chain
(`manage.py verify_audit`) finds a change there too.

TRUNCATE is left to the table owner (the test runner empties tables that
way); production should run the app under a role that does not own them.
"""

from django.db import migrations

TABLES = ("audit_auditentry", "audit_auditentrypatient")

# The one UPDATE allowed: an erasure's redaction (audit.services.redact_patient),
# which empties the payload, sets redacted_at once, and touches nothing else.
_PAYLOAD = "ARRAY['changes', 'changes_text', 'serialized_data', 'object_repr', 'redacted_at']"
FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    -- Nested: the inner test names columns only the entry table has.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_auditentry' THEN
        IF OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
           AND NEW.changes = '{{}}'::jsonb AND NEW.changes_text = '' AND NEW.serialized_data IS NULL
           AND NEW.object_repr = '(erased)'
           AND (to_jsonb(NEW) - {_PAYLOAD}) = (to_jsonb(OLD) - {_PAYLOAD}) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # its % are plpgsql's, not placeholders
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
