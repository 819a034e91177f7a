"""Triggers that keep the roll-ups exact (see sms/rollups.py), then a first count of the texts
already stored, in local days of settings.TIME_ZONE (stored in sms_rollupzone).

PostgreSQL: statement-level triggers with transition tables, so a bulk UPDATE of 200 rows
appends one grouped delta row per key that changed, not 400 rows. SQLite: row triggers,
skipped (WHEN) when no counted column changed. The SQL is written out here, not imported,
so this migration keeps meaning what it meant when it ran.
"""

from django.db import migrations

OUT_KEY = "day, sim_pk, backend, state, campaign_pk, template_pk, tag, encoding"
IN_KEY = "day, sim_pk, backend, campaign_pk, template_pk"


# The local day in the roll-ups' zone (one row of sms_rollupzone; see sms/rollups.py). UTC
# if the row is missing (a flushed test database): a stats table never stops a text's write.
ZONE = "COALESCE((SELECT name FROM sms_rollupzone ORDER BY id LIMIT 1), 'UTC')"


def _pg_day(column):
    return f"({column} AT TIME ZONE {ZONE})::date"


def _lite_day(column):
    # Django registers this function on every SQLite connection it opens (USE_TZ: stored UTC).
    return f"django_datetime_cast_date({column}, {ZONE}, 'UTC')"


def _pg_out_select(alias, sign):
    return (
        f"SELECT {_pg_day(alias + '.created_at')} AS day, COALESCE({alias}.sim_id, 0) AS sim_pk, "
        f"{alias}.backend, {alias}.state, COALESCE({alias}.campaign_id, 0) AS campaign_pk, "
        f"COALESCE({alias}.template_id, 0) AS template_pk, {alias}.tag, {alias}.encoding, "
        f"{sign} AS n, {sign} * {alias}.segments AS segments FROM {{table}} {alias}"
    )


def _pg_in_select(alias, sign):
    return (
        f"SELECT {_pg_day(alias + '.received_at')} AS day, COALESCE({alias}.sim_id, 0) AS sim_pk, "
        f"{alias}.backend, COALESCE(o.campaign_id, 0) AS campaign_pk, COALESCE(o.template_id, 0) AS template_pk, "
        f"{sign} AS n FROM {{table}} {alias} LEFT JOIN sms_outboundmessage o ON o.id = {alias}.in_reply_to_id"
    )


def _pg_function(name, delta, key, values, select):
    sums = ", ".join(f"SUM({v})" for v in values)
    differs = " OR ".join(f"SUM({v}) <> 0" for v in values)
    insert = f"INSERT INTO {delta} ({key}, {', '.join(values)}) SELECT {key}, {sums} FROM"
    tail = f"GROUP BY {key} HAVING {differs}"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {insert} ({select("nw", "1").format(table="new_rows")}) t {tail};
  ELSIF TG_OP = 'DELETE' THEN
    {insert} ({select("od", "-1").format(table="old_rows")}) t {tail};
  ELSE
    {insert} ({select("od", "-1").format(table="old_rows")} UNION ALL {select("nw", "1").format(table="new_rows")}) t {tail};
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_triggers(table, function):
    return "".join(
        f"CREATE TRIGGER {function}_{op[:3].lower()} AFTER {op} ON {table} {ref} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        for op, ref in (
            ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
            ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
        )
    )


PG_FORWARD = (
    _pg_function("sms_outbound_rollup", "sms_outboundcountdelta", OUT_KEY, ("n", "segments"), _pg_out_select)
    + _pg_triggers("sms_outboundmessage", "sms_outbound_rollup")
    + _pg_function("sms_inbound_rollup", "sms_inboundcountdelta", IN_KEY, ("n",), _pg_in_select)
    + _pg_triggers("sms_inboundmessage", "sms_inbound_rollup")
)
PG_BACKWARD = """
DROP TRIGGER IF EXISTS sms_outbound_rollup_ins ON sms_outboundmessage;
DROP TRIGGER IF EXISTS sms_outbound_rollup_upd ON sms_outboundmessage;
DROP TRIGGER IF EXISTS sms_outbound_rollup_del ON sms_outboundmessage;
DROP TRIGGER IF EXISTS sms_inbound_rollup_ins ON sms_inboundmessage;
DROP TRIGGER IF EXISTS sms_inbound_rollup_upd ON sms_inboundmessage;
DROP TRIGGER IF EXISTS sms_inbound_rollup_del ON sms_inboundmessage;
DROP FUNCTION IF EXISTS sms_outbound_rollup();
DROP FUNCTION IF EXISTS sms_inbound_rollup();
"""


def _lite_out_values(row, sign):
    return (
        f"({_lite_day(row + '.created_at')}, COALESCE({row}.sim_id, 0), {row}.backend, {row}.state, "
        f"COALESCE({row}.campaign_id, 0), COALESCE({row}.template_id, 0), {row}.tag, {row}.encoding, "
        f"{sign}, {sign} * {row}.segments)"
    )


def _lite_in_values(row, sign):
    outbound = f"(SELECT {{}} FROM sms_outboundmessage WHERE id = {row}.in_reply_to_id)"
    return (
        f"({_lite_day(row + '.received_at')}, COALESCE({row}.sim_id, 0), {row}.backend, "
        f"COALESCE({outbound.format('campaign_id')}, 0), COALESCE({outbound.format('template_id')}, 0), {sign})"
    )


OUT_WATCHED = ("created_at", "sim_id", "backend", "state", "campaign_id", "template_id", "tag", "encoding", "segments")
IN_WATCHED = ("received_at", "sim_id", "backend", "in_reply_to_id")


def _lite_triggers(table, name, delta, columns, values, watched):
    insert = f"INSERT INTO {delta} ({columns}) VALUES"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched)
    return [
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} BEGIN {insert} {values('NEW', 1)}; END",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table} WHEN {changed} BEGIN "
        f"{insert} {values('OLD', -1)}; {insert} {values('NEW', 1)}; END",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} BEGIN {insert} {values('OLD', -1)}; END",
    ]


LITE_FORWARD = _lite_triggers(
    "sms_outboundmessage",
    "sms_outbound_rollup",
    "sms_outboundcountdelta",
    OUT_KEY + ", n, segments",
    _lite_out_values,
    OUT_WATCHED,
) + _lite_triggers(
    "sms_inboundmessage", "sms_inbound_rollup", "sms_inboundcountdelta", IN_KEY + ", n", _lite_in_values, IN_WATCHED
)
LITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS sms_{kind}_rollup_{op}"
    for kind in ("outbound", "inbound")
    for op in ("ins", "upd", "del")
]

FIRST_COUNT = {
    "postgresql": [
        f"INSERT INTO sms_outboundcount ({OUT_KEY}, n, segments) SELECT {OUT_KEY}, SUM(n), SUM(segments) FROM ("
        + _pg_out_select("m", "1").format(table="sms_outboundmessage")
        + f") t GROUP BY {OUT_KEY}",
        f"INSERT INTO sms_inboundcount ({IN_KEY}, n) SELECT {IN_KEY}, SUM(n) FROM ("
        + _pg_in_select("m", "1").format(table="sms_inboundmessage")
        + f") t GROUP BY {IN_KEY}",
    ],
}


def forward(apps, schema_editor):
    from django.conf import settings

    apps.get_model("sms", "RollupZone").objects.create(name=settings.TIME_ZONE)
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FORWARD)
            for statement in FIRST_COUNT["postgresql"]:
                cursor.execute(statement)
        elif connection.vendor == "sqlite":
            for statement in LITE_FORWARD:
                cursor.execute(statement)
            cursor.execute(
                f"INSERT INTO sms_outboundcount ({OUT_KEY}, n, segments) SELECT {OUT_KEY}, SUM(n), SUM(segments) "
                f"FROM (SELECT {_lite_day('created_at')} AS day, COALESCE(sim_id, 0) AS sim_pk, backend, state, "
                "COALESCE(campaign_id, 0) AS campaign_pk, COALESCE(template_id, 0) AS template_pk, tag, encoding, "
                f"1 AS n, segments FROM sms_outboundmessage) t GROUP BY {OUT_KEY}"
            )
            cursor.execute(
                f"INSERT INTO sms_inboundcount ({IN_KEY}, n) SELECT {IN_KEY}, SUM(n) FROM (SELECT "
                f"{_lite_day('m.received_at')} AS day, COALESCE(m.sim_id, 0) AS sim_pk, m.backend, "
                "COALESCE(o.campaign_id, 0) AS campaign_pk, COALESCE(o.template_id, 0) AS template_pk, 1 AS n "
                "FROM sms_inboundmessage m LEFT JOIN sms_outboundmessage o "
                f"ON o.id = m.in_reply_to_id) t GROUP BY {IN_KEY}"
            )
        else:  # pragma: no cover
            raise RuntimeError(f"No roll-up triggers for {connection.vendor}; see sms/rollups.py")


def backward(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_BACKWARD)
        else:
            for statement in LITE_BACKWARD:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("sms", "0005_rollups")]

    operations = [migrations.RunPython(forward, backward)]
