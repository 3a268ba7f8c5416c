"""A trigram index for searches on course titles (`title__icontains`), PostgreSQL only.

Django compiles `icontains` on PostgreSQL to `UPPER("title"::text) LIKE UPPER('%term%')`,
so the index is on that expression. SQLite gets nothing. pg_trgm comes from
accounts.0002 (created again if missing, never dropped here).
"""

from django.db import migrations

INDEX = "course_title_upper_trgm_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON courses_course USING gin ((UPPER(title::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_email_trigram"),
        ("courses", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
