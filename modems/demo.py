"""Demo networks and SIMs: a gateway account on the simulated network (so the demo still
sends), a modem SIM switched off (no hardware on a demo machine), and a month of counts so
the SIM page's chart has something to show."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from modems.models import Network, SimCard, SimDayCount

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
    rng = random.Random(5)
    today = timezone.localdate()
    SimDayCount.objects.bulk_create(
        [
            SimDayCount(
                sim=account, date=today - timedelta(days=days), sent=rng.randint(40, 480), received=rng.randint(0, 60)
            )
            for days in range(1, 30)
        ]
    )
    from modems.balances import check_balance

    check_balance(account)
    stdout.write("modems: 3 networks, 2 SIMs (a simulated gateway account, an inactive modem), 29 days of counts")
