"""Hourly roll-ups of outbound and inbound texts: what every dashboard and stats page reads.

A page that counts a year of texts (a million rows) live cannot answer in 150 ms; a table of
counts per UTC hour × SIM × state × campaign × template × tag × encoding can. The roll-ups
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

Hours are UTC, so any local day is a sum of whole hours (zones whose offset is not a whole
number of hours, e.g. India, see their days cut at the hour boundary). A text counts on the
hour it was *queued* (``created_at``); inbound texts on the hour they were received, under
the campaign and template of the text they answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, models, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone


class _OutboundKey(models.Model):
    hour = models.DateTimeField(help_text="UTC hour the texts were queued in")
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
        return f"{self.hour:%Y-%m-%d %H}h SIM {self.sim_pk} {self.state}: {self.n}"


OUTBOUND_KEY = ("hour", "sim_pk", "backend", "state", "campaign_pk", "template_pk", "tag", "encoding")


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
            models.Index(fields=["hour"], name="sms_outdelta_hour_idx"),
            models.Index(fields=["campaign_pk"], name="sms_outdelta_campaign_idx"),
        ]


class _InboundKey(models.Model):
    hour = models.DateTimeField(help_text="UTC hour the texts were received in")
    sim_pk = models.IntegerField(default=0)
    backend = models.CharField(max_length=50, blank=True)
    campaign_pk = models.IntegerField(default=0, help_text="Campaign of the text it answers; 0: none")
    template_pk = models.IntegerField(default=0)
    n = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}h SIM {self.sim_pk} campaign {self.campaign_pk}: {self.n}"


INBOUND_KEY = ("hour", "sim_pk", "backend", "campaign_pk", "template_pk")


class InboundCount(_InboundKey):
    class Meta:
        constraints = [models.UniqueConstraint(fields=INBOUND_KEY, name="sms_inbound_count_key")]
        indexes = [models.Index(fields=["campaign_pk"], name="sms_incount_campaign_idx")]


class InboundCountDelta(_InboundKey):
    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [
            models.Index(fields=["hour"], name="sms_indelta_hour_idx"),
            models.Index(fields=["campaign_pk"], name="sms_indelta_campaign_idx"),
        ]


# Hour indexes of the count tables come first in their unique key (btree prefix).
TABLES = {
    "outbound": (OutboundCount, OutboundCountDelta, OUTBOUND_KEY, ("n", "segments")),
    "inbound": (InboundCount, InboundCountDelta, INBOUND_KEY, ("n",)),
}


# --- Reading -----------------------------------------------------------------------------


def counts(
    kind: str, *, by: Sequence[str], start: datetime | None = None, end: datetime | None = None, **filters
) -> dict[tuple, dict[str, int]]:
    """{key: {"n": texts, "segments": parts}} grouped ``by`` key fields and/or ``"day"``
    (local date), for texts queued (received) in ``[start, end)``. Two queries; zero rows
    (texts that moved on) are left out."""
    count_model, delta_model, _key, values = TABLES[kind]
    merged: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(values, 0))
    for model in (count_model, delta_model):
        rows = model.objects.filter(**filters)
        if start is not None:
            rows = rows.filter(hour__gte=start)
        if end is not None:
            rows = rows.filter(hour__lt=end)
        if "day" in by:
            rows = rows.annotate(day=TruncDate("hour", tzinfo=timezone.get_current_timezone()))
        for row in rows.values(*by).annotate(**{f"sum_{v}": Sum(v) for v in values}).order_by():
            target = merged[tuple(row[field] for field in by)]
            for v in values:
                target[v] += row[f"sum_{v}"] or 0
    return {key: value for key, value in merged.items() if any(value.values())}


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
                folded += cursor.rowcount
            else:
                cursor.execute(f"SELECT MAX(id), COUNT(*) FROM {delta_table}")  # noqa: S608
                top, n = cursor.fetchone()
                if top is None:
                    continue
                source = f"(SELECT * FROM {delta_table} WHERE id <= {int(top)}) d"  # noqa: S608
                cursor.execute(upsert.format(source=source))
                cursor.execute(f"DELETE FROM {delta_table} WHERE id <= %s", [top])  # noqa: S608
                folded += n
            zero = " AND ".join(f"{_q(v)} = 0" for v in values)
            cursor.execute(f"DELETE FROM {count_table} WHERE {zero}")  # noqa: S608
    return folded


def _hour_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00', {column})"


def _recount_sql(kind: str) -> tuple[str, str]:
    """(SELECT of the exact counts from the texts, the time column to bound it by)."""
    if kind == "outbound":
        return (
            f"SELECT {_hour_sql('m.created_at')} AS hour, COALESCE(m.sim_id, 0) AS sim_pk, m.backend AS backend, "  # noqa: S608
            "m.state AS state, COALESCE(m.campaign_id, 0) AS campaign_pk, COALESCE(m.template_id, 0) AS template_pk, "
            "m.tag AS tag, m.encoding AS encoding, 1 AS n, m.segments AS segments FROM sms_outboundmessage m",
            "m.created_at",
        )
    return (
        f"SELECT {_hour_sql('m.received_at')} AS hour, COALESCE(m.sim_id, 0) AS sim_pk, m.backend AS backend, "  # noqa: S608
        "COALESCE(o.campaign_id, 0) AS campaign_pk, COALESCE(o.template_id, 0) AS template_pk, 1 AS n "
        "FROM sms_inboundmessage m LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id",
        "m.received_at",
    )


def _difference_sql(kind: str, start: datetime | None, end: datetime | None) -> tuple[str, list, tuple]:
    """SELECT of (key, recount - roll-up) for every key of ``[start, end)`` that is off."""
    count_model, delta_model, key, values = TABLES[kind]
    recount, time_column = _recount_sql(kind)
    bounds = [(op, connection.ops.adapt_datetimefield_value(b)) for op, b in ((">=", start), ("<", end)) if b]
    base_where = " AND ".join(f"{time_column} {op} %s" for op, _ in bounds)
    hour_where = " AND ".join(f"hour {op} %s" for op, _ in bounds)
    base_where = f" WHERE {base_where}" if bounds else ""
    hour_where = f" WHERE {hour_where}" if bounds else ""
    params = [b for _, b in bounds] * 3
    cols, vals = ", ".join(key), ", ".join(values)
    neg = ", ".join(f"-{v}" for v in values)
    sums = ", ".join(f"SUM({v})" for v in values)
    differs = " OR ".join(f"SUM({v}) <> 0" for v in values)
    sql = (
        f"SELECT {cols}, {sums} FROM ("  # noqa: S608  (model identifiers; values are parameters)
        f"SELECT {cols}, {vals} FROM ({recount}{base_where}) r "
        f"UNION ALL SELECT {cols}, {neg} FROM {count_model._meta.db_table}{hour_where} "
        f"UNION ALL SELECT {cols}, {neg} FROM {delta_model._meta.db_table}{hour_where}"
        f") t GROUP BY {cols} HAVING {differs}"
    )
    return sql, params, (delta_model._meta.db_table, cols, vals)


def repair(*, start: datetime | None = None, end: datetime | None = None, kinds: Iterable[str] = TABLES) -> int:
    """Recount ``[start, end)`` (whole hours; all time by default) from the texts and append
    the difference to the deltas, in one statement (one snapshot: a text changing meanwhile is
    counted once, by the recount or by its own trigger's delta). Returns the keys that were off."""
    fixed = 0
    for kind in kinds:
        sql, params, (delta_table, cols, vals) = _difference_sql(kind, start, end)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {delta_table} ({cols}, {vals}) {sql}", params)
            fixed += cursor.rowcount
    return fixed


def drift(*, start: datetime | None = None, end: datetime | None = None) -> dict[str, list[tuple]]:
    """Keys where the roll-up and a recount disagree (empty lists when exact). Read-only."""
    result = {}
    for kind in TABLES:
        sql, params, _ = _difference_sql(kind, start, end)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            result[kind] = cursor.fetchall()
    return result
