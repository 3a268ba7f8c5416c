"""A trigram index for the admin's e-mail search (`email__icontains`), PostgreSQL only.

Django compiles `icontains` on PostgreSQL to `UPPER("email"::text) LIKE UPPER('%term%')`,
so the index is on that expression: a plain GIN index on `email` would serve `ILIKE` but
never Django's query. SQLite has no pg_trgm and gets nothing. The extension is left in
place on the way back: other indexes may use it.
"""

from django.db import migrations

INDEX = "user_email_upper_trgm_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_user USING gin ((UPPER(email::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
