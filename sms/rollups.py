"""Daily roll-ups of outbound and inbound texts: what every dashboard and stats page reads.

A page that counts a year of texts (a million rows) live cannot answer in 150 ms; a table of
counts per local day × SIM × state × campaign × template × tag × encoding can. The roll-ups
are kept *exact* by database triggers (migration ``sms.0003_rollups``), not by Python hooks:
texts change state through ``set_state``, the dispatcher's bulk ``UPDATE``s, ``refuse()``,
recovery, the demo and test helpers' raw updates, and tomorrow through code that does not
exist yet. A trigger sees every one of them, inside the transaction that made the change, so
a rolled-back change is never counted and a committed one always is.

The triggers never update a shared counter row (concurrent dispatchers would queue on it and
could deadlock on two of them taken in opposite orders): they *append* signed rows to a delta
table, ``-1`` for the key a text leaves and ``+1`` for the key it enters. ``compact()`` (cron /
beat every minute: ``manage.py compact_rollups``) folds the deltas into the count table in
one statement; readers add both tables. ``repair()`` recounts a range from the texts
themselves and appends the difference as one more delta, which makes it safe to run while
texts keep changing (it takes one snapshot; nothing is deleted).

Days are local days in the zone stored in ``RollupZone`` (``settings.TIME_ZONE`` when the
roll-ups were created); the triggers read it there. After changing ``TIME_ZONE`` run
``manage.py compact_rollups --repair``, which stores the new zone and recounts (a system check
warns until then). On SQLite the triggers call Django's own ``django_datetime_cast_date``
function, registered on every connection Django opens: write to these tables through Django.
A text counts on the day it was *queued* (``created_at``); an inbound text on the day it was
received, under the campaign and template of the text it answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, models, transaction
from django.db.models import Sum
from django.db.models.functions import Cast, Coalesce


class _OutboundKey(models.Model):
    day = models.DateField(help_text="Local day the texts were queued on")
    sim_pk = models.IntegerField(default=0, help_text="SimCard id; 0: no SIM (the default backend)")
    backend = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=20)
    campaign_pk = models.IntegerField(default=0)
    template_pk = models.IntegerField(default=0)
    tag = models.CharField(max_length=100, blank=True)
    encoding = models.CharField(max_length=4)
    n = models.BigIntegerField(default=0)
    segments = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.day} SIM {self.sim_pk} {self.state}: {self.n}"


OUTBOUND_KEY = ("day", "sim_pk", "backend", "state", "campaign_pk", "template_pk", "tag", "encoding")


class OutboundCount(_OutboundKey):
    """Texts (``n``) and their segments per key, as of the last ``compact()``."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=OUTBOUND_KEY, name="sms_outbound_count_key")]
        indexes = [models.Index(fields=["campaign_pk"], name="sms_outcount_campaign_idx")]


class OutboundCountDelta(_OutboundKey):
    """Signed changes appended by the triggers since the last ``compact()``."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="sms_outdelta_day_idx"),
            models.Index(fields=["campaign_pk"], name="sms_outdelta_campaign_idx"),
        ]


class _InboundKey(models.Model):
    day = models.DateField(help_text="Local day the texts were received on")
    sim_pk = models.IntegerField(default=0)
    backend = models.CharField(max_length=50, blank=True)
    campaign_pk = models.IntegerField(default=0, help_text="Campaign of the text it answers; 0: none")
    template_pk = models.IntegerField(default=0)
    n = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.day} SIM {self.sim_pk} campaign {self.campaign_pk}: {self.n}"


INBOUND_KEY = ("day", "sim_pk", "backend", "campaign_pk", "template_pk")


class InboundCount(_InboundKey):
    class Meta:
        constraints = [models.UniqueConstraint(fields=INBOUND_KEY, name="sms_inbound_count_key")]
        indexes = [models.Index(fields=["campaign_pk"], name="sms_incount_campaign_idx")]


class InboundCountDelta(_InboundKey):
    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="sms_indelta_day_idx"),
            models.Index(fields=["campaign_pk"], name="sms_indelta_campaign_idx"),
        ]


class RollupZone(models.Model):
    """The one time zone the roll-ups' days are counted in (one row), and how many times
    ``compact()`` folded deltas: readers that cache by the newest delta id add it, because
    right after a compaction no delta is left and the ids read as after the one before."""

    name = models.CharField(max_length=64)
    # Nullable, no default: SQLite adds it with ALTER TABLE ADD COLUMN; any other change would
    # rebuild the table, which the triggers reading it do not survive (test_triggers_exist).
    compactions = models.BigIntegerField(null=True, blank=True)

    def __str__(self):
        return self.name


def zone() -> str:
    return RollupZone.objects.values_list("name", flat=True).first() or "UTC"


# The count tables' unique keys start with the day: that btree serves the range reads.
TABLES = {
    "outbound": (OutboundCount, OutboundCountDelta, OUTBOUND_KEY, ("n", "segments")),
    "inbound": (InboundCount, InboundCountDelta, INBOUND_KEY, ("n",)),
}
# kind: a function of (the day expression for a stored time) returning (SELECT of the exact
# counts from the rows themselves, the indexed time column that bounds it); see _recount_sql.
RECOUNTS: dict = {}


def register(kind: str, *, count_model, delta_model, key: Sequence[str], values: Sequence[str], recount) -> None:
    """Add a roll-up kept by an app above this one (its own triggers append to ``delta_model``):
    ``counts``, ``compact``, ``repair`` and ``drift`` then treat it as they treat texts.
    ``recount(day_sql)`` returns the SELECT (columns named as ``key`` and ``values``) of the
    exact figures and the time column to bound it by; ``day_sql(column)`` is the local-day
    expression the triggers use."""
    TABLES[kind] = (count_model, delta_model, tuple(key), tuple(values))
    RECOUNTS[kind] = recount


# --- Reading -----------------------------------------------------------------------------


def counts(
    kind: str, *, by: Sequence[str], first: date | None = None, last: date | None = None, **filters
) -> dict[tuple, dict[str, int]]:
    """{key: {"n": texts, "segments": parts}} grouped ``by`` key fields (``"day"`` among them),
    for texts queued (received) from local day ``first`` to ``last`` included. Two queries;
    keys whose texts all moved on (zero) are left out."""
    count_model, delta_model, _key, values = TABLES[kind]
    merged: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(values, 0))
    for model in (count_model, delta_model):
        rows = model.objects.filter(**filters)
        if first is not None:
            rows = rows.filter(day__gte=first)
        if last is not None:
            rows = rows.filter(day__lte=last)
        width = len(by)
        sums = {f"sum_{v}": Cast(Sum(v), models.BigIntegerField()) for v in values}
        for row in _fetch(rows.values_list(*by).annotate(**sums).order_by()):
            target = merged[row[:width]]
            for i, v in enumerate(values, width):
                target[v] += row[i] or 0
    return {key: value for key, value in merged.items() if any(value.values())}


def _fetch(queryset) -> list[tuple]:
    """The rows of a ``values_list`` query as tuples. On PostgreSQL straight from the driver:
    it returns dates, booleans and (the sums cast to bigint) ints already, and Django's
    per-value converters cost a fifth of a year's read. SQLite needs them (dates are text)."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def outbound_counts(**kwargs) -> dict[tuple, dict[str, int]]:
    return counts("outbound", **kwargs)


def inbound_counts(**kwargs) -> dict[tuple, dict[str, int]]:
    return counts("inbound", **kwargs)


def per_campaign(kind: str, *, outer: str = "pk", **filters):
    """An expression for ``QuerySet.annotate``: texts of the row's campaign (all time) in the
    roll-ups, e.g. ``per_campaign("outbound", state__in=[...], tag="first")``. Two indexed
    subqueries (counts + deltas), whatever the campaign's size."""
    count_model, delta_model, _key, _values = TABLES[kind]
    parts = []
    for model in (count_model, delta_model):
        subquery = (
            model.objects.filter(campaign_pk=models.OuterRef(outer), **filters)
            .order_by()
            .values("campaign_pk")
            .annotate(total=Sum("n"))
            .values("total")
        )
        parts.append(Coalesce(models.Subquery(subquery, output_field=models.BigIntegerField()), 0))
    return parts[0] + parts[1]


def totals(rows: dict[tuple, dict[str, int]], *, index: int = 0, value: str = "n") -> dict:
    """Collapse ``counts()`` to {key[index]: total}."""
    result: dict = defaultdict(int)
    for key, figures in rows.items():
        result[key[index]] += figures[value]
    return dict(result)


# --- Maintenance -------------------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def compact() -> int:
    """Fold the deltas into the counts; returns how many delta rows were folded.

    PostgreSQL: one statement (DELETE ... RETURNING feeding the upsert) has one snapshot, so a
    delta committed meanwhile is either folded and deleted, or left for next time, never lost;
    an advisory lock keeps two compactors from waiting on each other's rows. SQLite writers are
    serialised, so taking the highest id first is enough.
    """
    folded = 0
    for count_model, delta_model, key, values in TABLES.values():
        count_table, delta_table = _q(count_model._meta.db_table), _q(delta_model._meta.db_table)
        cols = ", ".join(_q(k) for k in key)
        sums = ", ".join(f"SUM({_q(v)})" for v in values)
        updates = ", ".join(f"{_q(v)} = {count_table}.{_q(v)} + EXCLUDED.{_q(v)}" for v in values)
        vals = ", ".join(_q(v) for v in values)
        # WHERE 1 = 1: SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT (parser ambiguity).
        upsert = (
            f"INSERT INTO {count_table} ({cols}, {vals}) SELECT {cols}, {sums} FROM {{source}} "  # noqa: S608
            f"WHERE 1 = 1 GROUP BY {cols} ON CONFLICT ({cols}) DO UPDATE SET {updates}"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [delta_table])
                if not cursor.fetchone()[0]:
                    continue  # another compactor is at it
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {delta_table} RETURNING *) "  # noqa: S608  (quoted identifiers)
                    + upsert.format(source="moved")
                )
                moved = cursor.rowcount
            else:
                cursor.execute(f"SELECT MAX(id), COUNT(*) FROM {delta_table}")  # noqa: S608
                top, n = cursor.fetchone()
                if top is None:
                    continue
                source = f"(SELECT * FROM {delta_table} WHERE id <= {int(top)}) d"  # noqa: S608
                cursor.execute(upsert.format(source=source))
                cursor.execute(f"DELETE FROM {delta_table} WHERE id <= %s", [top])  # noqa: S608
                moved = n
            if not moved:
                continue
            folded += moved
            zero = " AND ".join(f"{_q(v)} = 0" for v in values)
            cursor.execute(f"DELETE FROM {count_table} WHERE {zero}")  # noqa: S608
            RollupZone.objects.update(compactions=Coalesce(models.F("compactions"), 0) + 1)
    return folded


ZONE_SQL = "COALESCE((SELECT name FROM sms_rollupzone ORDER BY id LIMIT 1), 'UTC')"  # as the triggers


def _day_sql(column: str) -> str:
    """The local day of a stored time, in the roll-ups' zone (the triggers' very expression)."""
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE {ZONE_SQL})::date"
    return f"django_datetime_cast_date({column}, {ZONE_SQL}, 'UTC')"


def _recount_sql(kind: str) -> tuple[str, str]:
    """(SELECT of the exact counts from the texts, the time column to bound it by)."""
    if kind in RECOUNTS:
        return RECOUNTS[kind](_day_sql)
    if kind == "outbound":
        return (
            f"SELECT {_day_sql('m.created_at')} AS day, COALESCE(m.sim_id, 0) AS sim_pk, m.backend AS backend, "  # noqa: S608
            "m.state AS state, COALESCE(m.campaign_id, 0) AS campaign_pk, COALESCE(m.template_id, 0) AS template_pk, "
            "m.tag AS tag, m.encoding AS encoding, 1 AS n, m.segments AS segments FROM sms_outboundmessage m",
            "m.created_at",
        )
    return (
        f"SELECT {_day_sql('m.received_at')} AS day, COALESCE(m.sim_id, 0) AS sim_pk, m.backend AS backend, "  # noqa: S608
        "COALESCE(o.campaign_id, 0) AS campaign_pk, COALESCE(o.template_id, 0) AS template_pk, 1 AS n "
        "FROM sms_inboundmessage m LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id",
        "m.received_at",
    )


def _difference_sql(kind: str, first: date | None, last: date | None) -> tuple[str, list, tuple]:
    """SELECT of (key, recount - roll-up) for every key of days ``first``..``last`` that is off."""
    count_model, delta_model, key, values = TABLES[kind]
    recount, time_column = _recount_sql(kind)
    days = [(op, connection.ops.adapt_datefield_value(b)) for op, b in ((">=", first), ("<=", last)) if b]
    day_where = (" WHERE " + " AND ".join(f"day {op} %s" for op, _ in days)) if days else ""
    # A bound on the indexed time column (a day of margin covers any zone) so a recount of
    # recent days reads recent texts only; the exact cut is on the computed day.
    times, time_params = [], []
    if first:
        times.append(f"{time_column} >= %s")
        time_params.append(connection.ops.adapt_datetimefield_value(_utc_midnight(first - timedelta(days=1))))
    if last:
        times.append(f"{time_column} < %s")
        time_params.append(connection.ops.adapt_datetimefield_value(_utc_midnight(last + timedelta(days=2))))
    if times:
        recount += " WHERE " + " AND ".join(times)
    params = time_params + [b for _, b in days] * 3
    cols, vals = ", ".join(key), ", ".join(values)
    neg = ", ".join(f"-{v}" for v in values)
    sums = ", ".join(f"SUM({v})" for v in values)
    differs = " OR ".join(f"SUM({v}) <> 0" for v in values)
    sql = (
        f"SELECT {cols}, {sums} FROM ("  # noqa: S608  (model identifiers; values are parameters)
        f"SELECT {cols}, {vals} FROM ({recount}) r{day_where} "
        f"UNION ALL SELECT {cols}, {neg} FROM {count_model._meta.db_table}{day_where} "
        f"UNION ALL SELECT {cols}, {neg} FROM {delta_model._meta.db_table}{day_where}"
        f") t GROUP BY {cols} HAVING {differs}"
    )
    return sql, params, (delta_model._meta.db_table, cols, vals)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def repair(*, first: date | None = None, last: date | None = None, kinds: Iterable[str] = TABLES) -> int:
    """Recount days ``first``..``last`` (all time by default) from the texts and append
    the difference to the deltas, in one statement (one snapshot: a text changing meanwhile is
    counted once, by the recount or by its own trigger's delta). Returns the keys that were off."""
    fixed = 0
    for kind in kinds:
        sql, params, (delta_table, cols, vals) = _difference_sql(kind, first, last)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {delta_table} ({cols}, {vals}) {sql}", params)
            fixed += cursor.rowcount
    return fixed


def drift(*, first: date | None = None, last: date | None = None) -> dict[str, list[tuple]]:
    """Keys where the roll-up and a recount disagree (empty lists when exact). Read-only."""
    result = {}
    for kind in TABLES:
        sql, params, _ = _difference_sql(kind, first, last)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            result[kind] = cursor.fetchall()
    return result


def set_zone(name: str) -> bool:
    """Count days in zone ``name`` from now on (then ``repair()`` recounts). True if it changed."""
    with transaction.atomic():
        current = RollupZone.objects.select_for_update().order_by("pk").first()
        if current and current.name == name:
            return False
        if current:
            RollupZone.objects.filter(pk=current.pk).update(name=name)
        else:
            RollupZone.objects.create(name=name)
    return True
