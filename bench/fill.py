"""Fill a PostgreSQL database fast: a seed row per table, doubled by ``INSERT ... SELECT``.

Every column keeps the seed's value (so columns other branches add keep their defaults)
except those given as SQL expressions of ``{n}``, the new row's running number. A million
outbound texts take well under a minute, where the ORM would take many.
"""

from __future__ import annotations

from django.db import connection

NUMBER = "'+44791' || lpad((({n}) % {numbers})::text, 7, '0')"


def number(i: int) -> str:
    return f"+44791{i:07d}"


def grow(model, target: int, overrides: dict[str, str], progress=print) -> int:
    """Grow ``model``'s table to ``target`` rows (it must hold at least one). Rows that would
    break a unique constraint (a contact the run already created) are skipped."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(f'"{c}"' for c in columns)
    offset = 0  # {n} runs 1, 2, 3... over the whole fill, whatever is skipped
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        count = cursor.fetchone()[0]
        while count < target and offset < 4 * target:
            take = min(count, target - count, 200_000)
            n = f"({offset} + row_number() OVER ())"
            select = ", ".join(overrides[c].format(n=n) if c in overrides else f'"{c}"' for c in columns)
            cursor.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {select} FROM '
                f'(SELECT * FROM "{table}" ORDER BY id LIMIT {take}) AS seed ON CONFLICT DO NOTHING'
            )
            count += cursor.rowcount
            offset += take
            progress(f"  {table}: {count:,} rows")
        cursor.execute(f'ANALYZE "{table}"')
    return count


def fill(*, outbound: int, inbound: int, numbers: int, progress=print) -> None:
    from django.utils import timezone

    from sms.models import Contact, InboundMessage, OutboundMessage, PipelineState, State

    now = timezone.now()
    if not Contact.objects.exists():
        Contact.objects.create(number=number(0))
    grow(Contact, numbers, {"number": NUMBER.format(n="{n}", numbers=numbers)}, progress)
    if not OutboundMessage.objects.exists():
        OutboundMessage.objects.create(
            recipient=number(0), content="Your appointment is tomorrow at 10:00. Reply YES to confirm.",
            state=State.SENT, backend="twilio", sent_at=now, created_at=now, external_id="SMfill0",
        )  # fmt: skip
    grow(
        OutboundMessage,
        outbound,
        {
            "reference": "gen_random_uuid()",
            "recipient": NUMBER.format(n="{n}", numbers=numbers),
            "created_at": "now() - (({n}) % 525600) * interval '1 minute'",
            "external_id": "'SMfill' || ({n})",
        },
        progress,
    )
    if not InboundMessage.objects.exists():
        InboundMessage.objects.create(
            sender=number(0), content="Yes", backend="twilio", external_id="fill-0", received_at=now,
            pipeline_state=PipelineState.DONE,
        )  # fmt: skip
    grow(
        InboundMessage,
        inbound,
        {
            "sender": NUMBER.format(n="{n}", numbers=numbers),
            "external_id": "'fill-' || ({n})",
            "received_at": "now() - (({n}) % 525600) * interval '1 minute'",
        },
        progress,
    )
