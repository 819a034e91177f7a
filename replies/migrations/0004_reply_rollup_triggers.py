"""Triggers that keep the replies' roll-up exact (see replies/rollups.py), then a first count.

PostgreSQL: statement-level triggers with transition tables (one grouped delta row per key a
statement changed). SQLite: row triggers, skipped (WHEN) when no counted column changed. Days
are local days in the zone of sms_rollupzone, with the very expression of sms.0006's triggers.
The SQL is written out here, not imported, so this migration keeps meaning what it meant.
"""

from django.db import migrations

KEY = "day, campaign_pk, template_pk, reply_type_pk, source, keyword, needs_review"
ZONE = "COALESCE((SELECT name FROM sms_rollupzone ORDER BY id LIMIT 1), 'UTC')"


def _pg_day(column):
    return f"({column} AT TIME ZONE {ZONE})::date"


def _lite_day(column):
    return f"django_datetime_cast_date({column}, {ZONE}, 'UTC')"


def _pg_reply_select(table, sign):
    """A reply's key: its own columns, the day of its text, the campaign of the text answered."""
    return (
        f"SELECT {_pg_day('m.received_at')} AS day, COALESCE(o.campaign_id, 0) AS campaign_pk, "
        "COALESCE(o.template_id, 0) AS template_pk, COALESCE(r.reply_type_id, 0) AS reply_type_pk, "
        f"r.source, r.keyword, r.needs_review, {sign} AS n FROM {table} r "
        "JOIN sms_inboundmessage m ON m.id = r.message_id LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id"
    )


def _pg_text_select(table, sign):
    """The key of the reply of each text of ``table`` (old or new rows of sms_inboundmessage)."""
    return (
        f"SELECT {_pg_day('m.received_at')} AS day, COALESCE(o.campaign_id, 0) AS campaign_pk, "
        "COALESCE(o.template_id, 0) AS template_pk, COALESCE(r.reply_type_id, 0) AS reply_type_pk, "
        f"r.source, r.keyword, r.needs_review, {sign} AS n FROM {table} m "
        "JOIN replies_reply r ON r.message_id = m.id LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id"
    )


def _insert(select_old, select_new):
    parts = " UNION ALL ".join(part for part in (select_old, select_new) if part)
    return (
        f"INSERT INTO replies_replycountdelta ({KEY}, n) SELECT {KEY}, SUM(n) FROM ({parts}) t "
        f"GROUP BY {KEY} HAVING SUM(n) <> 0;"
    )


_LOCK = "PERFORM 1 FROM sms_inboundmessage m WHERE m.id IN (SELECT message_id FROM {rows}) ORDER BY m.id FOR SHARE;"

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION replies_reply_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Share-lock the replies' texts first: a concurrent change of a text's answered text waits
  -- for it or is waited for, and the next statement (a new snapshot) reads its committed
  -- value. Without it both triggers would count from the other's old value (write skew).
  IF TG_OP = 'DELETE' THEN
    {_LOCK.format(rows="old_rows")}
  ELSE
    {_LOCK.format(rows="new_rows")}
  END IF;
  IF TG_OP = 'INSERT' THEN
    {_insert(None, _pg_reply_select("new_rows", "1"))}
  ELSIF TG_OP = 'DELETE' THEN
    {_insert(_pg_reply_select("old_rows", "-1"), None)}
  ELSE
    {_insert(_pg_reply_select("old_rows", "-1"), _pg_reply_select("new_rows", "1"))}
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER replies_reply_rollup_ins AFTER INSERT ON replies_reply REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION replies_reply_rollup();
CREATE TRIGGER replies_reply_rollup_upd AFTER UPDATE ON replies_reply
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION replies_reply_rollup();
CREATE TRIGGER replies_reply_rollup_del AFTER DELETE ON replies_reply REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION replies_reply_rollup();

CREATE OR REPLACE FUNCTION replies_text_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {_insert(_pg_text_select("old_rows", "-1"), None)}
  ELSE
    {_insert(_pg_text_select("old_rows", "-1"), _pg_text_select("new_rows", "1"))}
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER replies_text_rollup_upd AFTER UPDATE ON sms_inboundmessage
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION replies_text_rollup();
CREATE TRIGGER replies_text_rollup_del AFTER DELETE ON sms_inboundmessage REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION replies_text_rollup();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS replies_reply_rollup_ins ON replies_reply;
DROP TRIGGER IF EXISTS replies_reply_rollup_upd ON replies_reply;
DROP TRIGGER IF EXISTS replies_reply_rollup_del ON replies_reply;
DROP TRIGGER IF EXISTS replies_text_rollup_upd ON sms_inboundmessage;
DROP TRIGGER IF EXISTS replies_text_rollup_del ON sms_inboundmessage;
DROP FUNCTION IF EXISTS replies_reply_rollup();
DROP FUNCTION IF EXISTS replies_text_rollup();
"""


def _lite_outbound(text_row, column):
    return f"COALESCE((SELECT {column} FROM sms_outboundmessage WHERE id = {text_row}.in_reply_to_id), 0)"


def _lite_reply(row, sign):
    """INSERT of the key of reply ``row`` (OLD/NEW), its text looked up (none: nothing)."""
    return (
        f"INSERT INTO replies_replycountdelta ({KEY}, n) SELECT {_lite_day('m.received_at')}, "
        f"{_lite_outbound('m', 'campaign_id')}, {_lite_outbound('m', 'template_id')}, "
        f"COALESCE({row}.reply_type_id, 0), {row}.source, {row}.keyword, {row}.needs_review, {sign} "
        f"FROM sms_inboundmessage m WHERE m.id = {row}.message_id;"
    )


def _lite_text(row, sign):
    """INSERT of the key of the reply of text ``row`` (OLD/NEW), if it has one."""
    return (
        f"INSERT INTO replies_replycountdelta ({KEY}, n) SELECT {_lite_day(row + '.received_at')}, "
        f"{_lite_outbound(row, 'campaign_id')}, {_lite_outbound(row, 'template_id')}, "
        f"COALESCE(r.reply_type_id, 0), r.source, r.keyword, r.needs_review, {sign} "
        f"FROM replies_reply r WHERE r.message_id = {row}.id;"
    )


REPLY_WATCHED = ("message_id", "reply_type_id", "source", "keyword", "needs_review")
TEXT_WATCHED = ("received_at", "in_reply_to_id")


def _changed(columns):
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


LITE_FORWARD = [
    f"CREATE TRIGGER replies_reply_rollup_ins AFTER INSERT ON replies_reply BEGIN {_lite_reply('NEW', 1)} END",
    f"CREATE TRIGGER replies_reply_rollup_upd AFTER UPDATE ON replies_reply WHEN {_changed(REPLY_WATCHED)} "
    f"BEGIN {_lite_reply('OLD', -1)} {_lite_reply('NEW', 1)} END",
    f"CREATE TRIGGER replies_reply_rollup_del AFTER DELETE ON replies_reply BEGIN {_lite_reply('OLD', -1)} END",
    f"CREATE TRIGGER replies_text_rollup_upd AFTER UPDATE ON sms_inboundmessage WHEN {_changed(TEXT_WATCHED)} "
    f"BEGIN {_lite_text('OLD', -1)} {_lite_text('NEW', 1)} END",
    f"CREATE TRIGGER replies_text_rollup_del AFTER DELETE ON sms_inboundmessage BEGIN {_lite_text('OLD', -1)} END",
]
LITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS replies_{name}_rollup_{op}"
    for name, ops in (("reply", ("ins", "upd", "del")), ("text", ("upd", "del")))
    for op in ops
]


def first_count(day):
    return (
        f"INSERT INTO replies_replycount ({KEY}, n) SELECT {KEY}, SUM(n) FROM ("
        f"SELECT {day('m.received_at')} AS day, COALESCE(o.campaign_id, 0) AS campaign_pk, "
        "COALESCE(o.template_id, 0) AS template_pk, COALESCE(r.reply_type_id, 0) AS reply_type_pk, "
        "r.source, r.keyword, r.needs_review, 1 AS n FROM replies_reply r "
        "JOIN sms_inboundmessage m ON m.id = r.message_id LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id"
        f") t GROUP BY {KEY}"
    )


def forward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FORWARD)
            cursor.execute(first_count(_pg_day))
        elif connection.vendor == "sqlite":
            for statement in LITE_FORWARD:
                cursor.execute(statement)
            cursor.execute(first_count(_lite_day))
        else:  # pragma: no cover
            raise RuntimeError(f"No roll-up triggers for {connection.vendor}; see replies/rollups.py")


def backward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_BACKWARD)
        else:
            for statement in LITE_BACKWARD:
                cursor.execute(statement)
        # Without its triggers the roll-up goes stale: empty it (forward counts it all again).
        cursor.execute("DELETE FROM replies_replycountdelta")
        cursor.execute("DELETE FROM replies_replycount")


class Migration(migrations.Migration):
    dependencies = [("replies", "0003_reply_rollups"), ("sms", "0006_rollup_triggers")]

    operations = [migrations.RunPython(forward, backward)]
