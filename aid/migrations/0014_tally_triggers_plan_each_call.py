"""The roster's and the lines' tally triggers (migration 0011) with each statement run through
EXECUTE, planned for the rows of that call.

PL/pgSQL plans a static statement once per connection, for the transition tables of its first
call. After a few one-row writes on a connection, an UPDATE of 10,000 students joined its old
and new rows by a nested loop with that plan: 83 seconds instead of 0.9, for a roster import
in a worker that had saved a form before. Planned at each call, a statement costs a
millisecond more on a one-row write. Without JIT compilation: the planner cannot know how
many of an UPDATE's rows changed what a tally counts, expects millions, and compiled for
300 ms statements that take 30.

The terms' triggers stay as they were: a statement on the terms writes a row or two, and
their plans read the students and visits through their indexes.
"""
import importlib

from django.db import migrations

TALLIES = importlib.import_module("aid.migrations.0011_tallies")
REPLANNED = ("students_student", "aid_pairing", "aid_homevisit", "aid_disbursementline")


def executed(body):
    """The body's statements each run through EXECUTE (PERFORM, PL/pgSQL's own, as SELECT)."""
    statements = [statement.strip() for statement in body.split(";") if statement.strip()]
    return "\n".join(
        "    EXECUTE $sql$ " + ("SELECT" + statement[len("PERFORM"):] if statement.startswith("PERFORM") else statement)
        + " $sql$;"
        for statement in statements
    )


def replace_functions(body_of, settings):
    def replace(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table, operation, body in TALLIES.TRIGGERS:
            if table in REPLANNED and operation != "TRUNCATE":
                schema_editor.execute(
                    f"CREATE OR REPLACE FUNCTION {TALLIES.trigger_name(table, operation)}() RETURNS trigger"
                    f" LANGUAGE plpgsql {settings} AS $$\nBEGIN\n{body_of(body)}\n    RETURN NULL;\nEND $$;"
                )
    return replace


class Migration(migrations.Migration):

    dependencies = [
        ('aid', '0013_eligibility_tally'),
    ]

    operations = [
        migrations.RunPython(replace_functions(executed, "SET jit = off"), replace_functions(lambda body: body, "")),
    ]
