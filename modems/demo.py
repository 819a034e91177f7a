"""Demo networks and SIMs: a gateway account on the simulated network (so the demo still
sends) and a modem SIM switched off (no hardware on a demo machine). The demo's texts go out
through the account; once every demo is loaded, its daily counts are rebuilt from the texts
themselves (dated back over the fortnight), so the SIM page and the dashboard agree."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from modems.models import Network, SimCard, SimDayCount
from sms.models import InboundMessage, OutboundMessage

#: Before the other demos (load_demo sorts by ORDER, default 0): their texts go out through these SIMs.
ORDER = -10


def load(stdout) -> None:
    if SimCard.objects.exists():
        stdout.write("modems: demo SIMs already present, skipped")
        return
    vodafone = Network.objects.create(
        name="Vodafone UK", kind=Network.Kind.OPERATOR, carrier_names="Vodafone", mcc_mnc="23415"
    )
    Network.objects.create(name="O2 UK", kind=Network.Kind.OPERATOR, carrier_names="O2", mcc_mnc="23410")
    gateway = Network.objects.create(name="Simulated gateway", kind=Network.Kind.GATEWAY)
    account = SimCard.objects.create(
        network=gateway,
        name="Demo gateway account",
        backend="simulated",
        daily_limit=500,
        priority=1,
        price_per_segment=Decimal("0.04"),  # the Stats page's cost estimate (the balance goes down as much)
        currency="EUR",
        low_balance_threshold=50,  # above the demo credit: the dashboard shows its warning
    )
    SimCard.objects.create(
        network=vodafone,
        name="Shop dongle (unplugged)",
        number="+447911123456",
        device="/dev/ttyUSB2",
        daily_limit=200,
        active=False,
    )
    from modems.balances import check_balance

    check_balance(account)
    stdout.write(f"modems: 3 networks, 2 SIMs ({account}: a simulated gateway account; an inactive modem)")


def finish(stdout) -> None:
    """Each SIM's daily counts from the texts it actually carried (the demos date their texts
    back after sending them today, which counted every part on today's row)."""
    rebuilt = recount(SimCard.objects.all())
    stdout.write(f"modems: SIM counts rebuilt from the demo texts ({rebuilt} days)")


def recount(sims) -> int:
    zone = timezone.get_current_timezone()
    sims = list(sims)
    sent = (
        OutboundMessage.objects.filter(sim__in=sims, sent_at__isnull=False)
        .annotate(day=TruncDate("sent_at", tzinfo=zone))
        .values_list("sim_id", "day")
        .annotate(parts=Sum("segments"))
    )
    received = (
        InboundMessage.objects.filter(sim__in=sims)
        .annotate(day=TruncDate("received_at", tzinfo=zone))
        .values_list("sim_id", "day")
        .annotate(n=Count("pk"))
    )
    counts: dict[tuple[int, object], list[int]] = {}
    for sim_id, day, parts in sent:
        counts.setdefault((sim_id, day), [0, 0])[0] = parts or 0
    for sim_id, day, n in received:
        counts.setdefault((sim_id, day), [0, 0])[1] = n
    with transaction.atomic():
        SimDayCount.objects.filter(sim__in=sims).delete()
        SimDayCount.objects.bulk_create(
            [SimDayCount(sim_id=sim_id, date=day, sent=s, received=r) for (sim_id, day), (s, r) in counts.items()]
        )
    return len(counts)
