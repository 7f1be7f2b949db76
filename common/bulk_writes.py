"""Thousands of rows in one go, with their history: PostgreSQL COPY for the roster import.

Django's bulk_create prepares every value through its field, and django-simple-history's
bulk helpers build a model instance for every history row. For a 10,000-row roster (students,
households, the history of both, and the import's own records) that is about 650,000 calls
and most of the import's time. On PostgreSQL the functions below write the same rows with
COPY instead: ids are taken from the table's sequence first, so every instance has its pk
before anything is written, and the rows that point at it (a student at its household, a
history row at its student) are written the same way.

On another database (SQLite, the demo's default) they fall back to bulk_create and
simple_history's bulk helpers, which write the same rows more slowly. Like bulk_create, neither
path calls save() or sends signals.
"""
import contextlib
import json
import operator
import zlib

from django.db import connection, transaction
from django.db.models import BinaryField, JSONField
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from common import replicas

__all__ = [
    "create", "create_from_values", "create_from_values_with_history", "create_rows", "create_with_history",
    "indexes_built_after", "update_with_history", "uses_copy",
]

ORM_BATCH_SIZE = 2000
COPY_READ_SIZE = 64 * 1024  # characters handed to the server at a time
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_NULL = "\\N"


def uses_copy():
    return connection.vendor == "postgresql"


def create(instances):
    """Insert new instances of one model (no history); each gets its pk."""
    if not instances:
        return
    if not uses_copy():
        type(instances[0]).objects.bulk_create(instances, batch_size=ORM_BATCH_SIZE)
        return
    model = type(instances[0])
    prepare_new(model, instances)
    fields = model._meta.concrete_fields
    get_values = operator.attrgetter(*[f.attname for f in fields])
    copy_rows(model, fields, (get_values(obj) for obj in instances))


def create_from_values(model, rows):
    """Insert rows given as {attname: value} dicts (every column but the id), without
    building model instances: for records nothing reads back at once."""
    if not rows:
        return
    if not uses_copy():
        model.objects.bulk_create([model(**row) for row in rows], batch_size=ORM_BATCH_SIZE)
        return
    names = list(rows[0])
    field_of = {f.attname: f for f in model._meta.concrete_fields}
    copy_rows(model, [field_of[name] for name in names], ([row[name] for name in names] for row in rows))


def create_from_values_with_history(model, rows, *, user, reason, date=None):
    """Insert rows given as {field name or attname: value} dicts and one "created" history
    row each, by `user` for `reason`; return them as instances of `model`, pks included.

    The columns a row leaves out take their defaults and the auto_now(_add) ones the time of
    the write, as save() would give them. No instance is built before the write, and each
    row's COPY line is made once for its table and its history: for the roster import's
    10,000 new students that was most of the time of the write.
    """
    if not rows:
        return []
    if not uses_copy():
        instances = [model(**row) for row in rows]
        create_with_history(instances, user=user, reason=reason, date=date)
        return instances
    instances = []
    write_new_rows(model, rows, user=user, reason=reason, date=date, each=lambda made: as_instances(model, made, instances))
    return instances


def create_rows(model, rows, *, user, reason, date=None):
    """As create_from_values_with_history, but return the new ids alone, in order: no
    instance is made, which for the demo's hundreds of thousands of rows cost more than
    writing them."""
    if not rows:
        return []
    if not uses_copy():
        return [obj.pk for obj in create_from_values_with_history(model, rows, user=user, reason=reason, date=date)]
    written = write_new_rows(model, rows, user=user, reason=reason, date=date)
    pk_index = model._meta.concrete_fields.index(model._meta.pk)
    return [row[pk_index] for row in written]


def write_new_rows(model, rows, *, user, reason, date, each=None):
    """COPY new rows (dicts, as create_from_values_with_history takes them) and their
    "created" history; return the rows written, as tuples in the order of the model's
    columns. `each`, given the tuples as they are made, passes them on (and may keep them)."""
    fields = model._meta.concrete_fields
    unknown = set().union(*rows) - {f.name for f in fields} - {f.attname for f in fields}
    if unknown:  # now: an error raised while COPY reads would reach the caller as another
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}.")
    written, lines = [], []
    # The values and lines are made as the server reads the lines: it stores one block while
    # Python makes the next. The ids are taken first: no query can run during COPY.
    made = kept(new_row_values(model, rows, reserve_ids(model, len(rows))), written)
    copy_text(model, fields, kept(copy_lines(fields, made if each is None else each(made)), lines))
    history = HistoryColumns(model, "+", user=user, reason=reason, date=date)
    if not history.tracks_every_column:
        position = {f.attname: index for index, f in enumerate(fields)}
        tracked_values = operator.itemgetter(*[position[f.attname] for f in history.tracked])
        lines = copy_lines(history.tracked, (tracked_values(row) for row in written))
    copy_text(history.model, history.fields, (line + history.suffix for line in lines))
    return written


def create_with_history(instances, *, user, reason, date=None):
    """Insert new instances and one "created" history row each, by `user` for `reason`."""
    if not instances:
        return
    if not uses_copy():
        bulk_create_with_history(
            instances, type(instances[0]), batch_size=ORM_BATCH_SIZE,
            default_user=user, default_change_reason=reason, default_date=date,
        )
        return
    create(instances)
    write_history(instances, "+", user=user, reason=reason, date=date)


def update_with_history(instances, field_names, *, user, reason, date=None):
    """Save `field_names` of existing instances and add one "changed" history row each."""
    if not instances:
        return
    if not uses_copy():
        bulk_update_with_history(
            instances, type(instances[0]), list(field_names), batch_size=ORM_BATCH_SIZE,
            default_user=user, default_change_reason=reason, default_date=date,
        )
        return
    update(instances, field_names)
    write_history(instances, "~", user=user, reason=reason, date=date)


@contextlib.contextmanager
def indexes_built_after(models):
    """A bulk load into the models' tables (and their history's), whose indexes are built
    once it is done.

    PostgreSQL builds an index on a full table by sorting it, several times faster than it
    keeps it up to date row by row: 200,000 students take 11 s to insert with their indexes,
    under 1 s without and 6 s to build them after. Only the tables still empty in this
    transaction lose their indexes, and only those that no constraint owns (primary keys and
    unique fields stay); they come back before the transaction ends, or with its rollback.
    Meanwhile other sessions that read these tables wait for the load. Elsewhere than on
    PostgreSQL, nothing changes."""
    if not uses_copy():
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # The foreign keys' checks deferred so far run with the indexes they need (deleting
        # households checks each against the students' household_id index).
        run_deferred_checks(cursor)
        tables = [m._meta.db_table for model in models for m in (model, *history_models(model))]
        definitions = drop_loose_indexes(cursor, tables)
        yield
        # A table is indexed only once the checks of its new rows have run.
        run_deferred_checks(cursor)
        # Memory for the sorts of the builds (the default, 64 MB, spills to disk).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)


def run_deferred_checks(cursor):
    """Run the checks of the foreign keys deferred to the commit, and defer them again
    from here on, as Django declares them."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# ---------------------------------------------------------------------------------------
# The PostgreSQL path
# ---------------------------------------------------------------------------------------


def prepare_new(model, instances):
    """Give unsaved instances their ids and their auto_now(_add) values, as save() would."""
    if any(obj.pk is not None for obj in instances):
        raise ValueError(f"{model.__name__}: create() takes unsaved instances only.")
    stamped = [
        f for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    relations = relation_fields(model)
    for obj, pk in zip(instances, reserve_ids(model, len(instances)), strict=True):
        obj.pk = pk
        for model_field in stamped:
            model_field.pre_save(obj, add=True)
        link_related(obj, relations)
        obj._state.adding = False
        obj._state.db = connection.alias


def new_row_values(model, rows, ids):
    """The rows given to create_from_values_with_history as tuples in the order of the model's
    columns, each with its id (prepare_new does this for instances)."""
    fields = model._meta.concrete_fields
    made = [(f.attname, f.get_default) for f in fields if f.has_default() and callable(f.default)]
    fixed = {f.attname: f.get_default() for f in fields if f.attname not in dict(made)}
    now = timezone.now()
    stamped = {f.attname: now for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    relations = [(f.name, f.attname) for f in relation_fields(model)]
    pk = model._meta.pk.attname
    row_of = operator.itemgetter(*[f.attname for f in fields])
    for row, next_id in zip(rows, ids, strict=True):
        full = {**fixed, **{attname: make() for attname, make in made}, **row, **stamped, pk: next_id}
        for name, attname in relations:
            if name in full:
                full[attname] = related_pk(model, name, full.pop(name))
        yield row_of(full)


def related_pk(model, name, related):
    if related is not None and related.pk is None:
        raise ValueError(f"{model._meta.model_name}.{name} points at an unsaved object.")
    return None if related is None else related.pk


def relation_fields(model):
    return [f for f in model._meta.concrete_fields if f.is_relation]


def link_related(obj, relations):
    """Copy the pk of a related object assigned before it was saved (as bulk_create does)."""
    cached = obj._state.fields_cache
    for model_field in relations:
        if getattr(obj, model_field.attname) is None and model_field.cache_name in cached:
            related = cached[model_field.cache_name]
            if related is not None:
                if related.pk is None:
                    raise ValueError(f"{obj._meta.model_name}.{model_field.name} points at an unsaved object.")
                setattr(obj, model_field.attname, related.pk)


def history_models(model):
    history = getattr(model, "history", None)
    return [history.model] if history is not None else []


def drop_loose_indexes(cursor, tables):
    """Drop the indexes that no constraint owns of those tables that are empty (and that
    this role may change); return the statements that make them again."""
    empty = []
    for table in tables:
        cursor.execute(f"SELECT NOT EXISTS (SELECT FROM {connection.ops.quote_name(table)})")
        if cursor.fetchone()[0]:
            empty.append(table)
    cursor.execute(
        """
        SELECT index.indexrelid::regclass::text, pg_get_indexdef(index.indexrelid)
        FROM pg_index index
        WHERE index.indrelid = ANY (%s::regclass[])
          AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = index.indexrelid)
          AND pg_has_role((SELECT relowner FROM pg_class t WHERE t.oid = index.indrelid), 'USAGE')
        ORDER BY index.indexrelid
        """,
        [empty],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


def reserve_ids(model, count):
    """The next `count` values of the table's id sequence, taken now so nothing else gets them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def update(instances, field_names):
    """UPDATE … FROM a temporary table filled by COPY: one statement for all the rows."""
    model = type(instances[0])
    quote = connection.ops.quote_name
    fields = [model._meta.pk] + [model._meta.get_field(name) for name in field_names]
    relations = relation_fields(model)
    for obj in instances:
        link_related(obj, relations)
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    staging = quote(f"bulk_update_{model._meta.db_table}_{zlib.crc32(columns.encode()):08x}")
    assignments = ", ".join(f"{quote(f.column)} = staged.{quote(f.column)}" for f in fields[1:])
    pk = quote(model._meta.pk.column)
    # One staging table per table and columns in a transaction, emptied before each use and
    # dropped at its end: a table created and dropped per call held its locks to the end of
    # the transaction, and a seed of a million students ran out of PostgreSQL's lock table.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {staging}")
        copy_rows(model, fields, ([getattr(obj, f.attname) for f in fields] for obj in instances), table=staging)
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {staging} AS staged WHERE {table}.{pk} = staged.{pk}")


class HistoryColumns:
    """The columns of simple_history's rows for one write of `model`: its tracked fields, in
    the order of the model's own columns, then those every row of the write shares (who,
    when, why, and any field of the history model's own at its default) as one COPY text."""

    def __init__(self, model, history_type, *, user, reason, date):
        self.model = model.history.model
        by_attname = {f.attname: f for f in self.model._meta.concrete_fields}
        tracked = {f.attname for f in self.model.tracked_fields}
        self.tracked = [by_attname[f.attname] for f in model._meta.concrete_fields if f.attname in tracked]
        given = {
            "history_date": date or timezone.now(),
            "history_type": history_type,
            "history_user_id": user.pk if user is not None else None,
            "history_change_reason": reason,
        }
        shared = [f for f in self.model._meta.concrete_fields if not f.primary_key and f.attname not in tracked]
        shared_values = [given[f.attname] if f.attname in given else f.get_default() for f in shared]
        self.fields = self.tracked + shared
        self.suffix = "\t" + next(copy_lines(shared, [shared_values]))
        self.tracks_every_column = len(self.tracked) == len(model._meta.concrete_fields)


def write_history(instances, history_type, *, user, reason, date):
    """simple_history's rows for these instances: their values now, plus who, when and why."""
    history = HistoryColumns(type(instances[0]), history_type, user=user, reason=reason, date=date)
    get_values = operator.attrgetter(*[f.attname for f in history.tracked])
    lines = copy_lines(history.tracked, (get_values(obj) for obj in instances))
    copy_text(history.model, history.fields, (line + history.suffix for line in lines))


def copy_rows(model, fields, rows, *, table=None):
    """COPY the rows (sequences of Python values in the order of `fields`) into the model's table."""
    copy_text(model, fields, copy_lines(fields, rows), table=table)


def copy_text(model, fields, lines, *, table=None):
    """COPY lines already in COPY's text format into the model's table."""
    if replicas.replicated(model):
        replicas.mark_written()  # raw SQL: the router does not see it
    quote = connection.ops.quote_name
    statement = "COPY {} ({}) FROM STDIN".format(
        table or quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    with connection.cursor() as cursor:
        # Positional: in DEBUG, Django's CursorDebugWrapper takes no keyword arguments here.
        cursor.copy_expert(statement, CopyText(lines), COPY_READ_SIZE)


def copy_lines(fields, rows):
    """Each row as one line of COPY's text format (the rows are left as they are)."""
    as_text = [(index, encoder) for index, encoder in enumerate(map(text_encoder, fields)) if encoder is not None]
    separators = len(fields) - 1
    for row in rows:
        if as_text:
            row = list(row)
            for index, encoder in as_text:
                if row[index] is not None:
                    row[index] = encoder(row[index])
        line = "\t".join([COPY_NULL if value is None else str(value) for value in row])
        if (line.count("\t") != separators or line.count("\\") != row.count(None)
                or "\n" in line or "\r" in line):
            # Rare: a value holds a tab, a line break or a backslash (other than the NULL
            # marker's); escape value by value.
            line = "\t".join([encode(value) for value in row])
        yield line


def as_instances(model, values, into):
    """The rows of values as they come, each also appended to `into` as an instance of `model`
    (Model.from_db: as they are in the database once written)."""
    names = [f.attname for f in model._meta.concrete_fields]
    for row in values:
        into.append(model.from_db(connection.alias, names, row))
        yield row


def kept(items, into):
    """The items as they come, each also appended to `into` (for a second COPY, or to return)."""
    for item in items:
        into.append(item)
        yield item


class CopyText:
    """A file-like object for COPY … FROM STDIN that makes its lines as they are read, so
    the database server stores one block while Python prepares the next, and the whole text
    is never held in memory."""

    def __init__(self, lines):
        self.lines = lines

    def read(self, size=-1):
        block, length = [], 0
        for line in self.lines:
            block.append(line)
            length += len(line) + 1
            if 0 <= size <= length:
                break
        return "\n".join(block) + "\n" if block else ""


def encode(value):
    """A value in COPY's text format. str() suits every type the models use: text and
    choices, numbers and Decimal, dates and aware datetimes (ISO), booleans (True/False)."""
    if value is None:
        return COPY_NULL
    return str(value).translate(COPY_ESCAPES)


def text_encoder(model_field):
    """How to turn a value of this field into text when str() would not do (else None).
    The text is escaped for COPY with the rest of its row."""
    if isinstance(model_field, JSONField):
        # Non-ASCII stays as it is: the same jsonb value, and no backslash escapes to double.
        # An empty object (most of an import's "before" values) needs no encoder.
        return lambda value: "{}" if value == {} else json.dumps(value, cls=model_field.encoder, ensure_ascii=False)
    if isinstance(model_field, BinaryField):
        return lambda value: "\\x" + bytes(value).hex()  # bytea's hex input format
    return None
