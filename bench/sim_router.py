"""How much the SIM router costs per batch compared with the default router.

    python bench/sim_router.py

Routes the same 200-text batches (the dispatcher's default batch size) through
``sms.routing.default_router`` (baseline: one backend, no limits) and through
``modems.routing.sim_router`` (6 SIMs on 3 networks, carrier look-up per recipient, atomic
reservations), on a throwaway SQLite database, and prints the time per batch and the ratio.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{db}"
os.environ["SMS_DEFAULT_BACKEND"] = "locmem"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

call_command("migrate", verbosity=0)

from modems.models import Network, SimCard, SimDayCount  # noqa: E402
from modems.routing import sim_router  # noqa: E402
from sms.models import OutboundMessage  # noqa: E402
from sms.queueing import build_message, queue_messages  # noqa: E402
from sms.routing import default_router  # noqa: E402

BATCH, ROUNDS = 200, 20
prefixes = ["+447775", "+447710", "+447400", "+447911"]  # Vodafone, O2, Three, ...
queue_messages([build_message(f"{prefixes[i % 4]}{i:06d}", f"Hello {i}") for i in range(BATCH)])
messages = list(OutboundMessage.objects.all())
networks = [Network.objects.create(name=n, carrier_names=n) for n in ("Vodafone", "O2", "Three")]
for i in range(6):
    SimCard.objects.create(network=networks[i % 3], backend="locmem", daily_limit=10**9, priority=i % 2)


def timed(router) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        router(messages)
        best = min(best, time.perf_counter() - started)
    return best


baseline = timed(default_router)
with connection.cursor():
    routed = timed(sim_router)
print(f"default_router: {baseline * 1000:.2f} ms per {BATCH}-text batch")
print(f"sim_router:     {routed * 1000:.2f} ms per {BATCH}-text batch ({routed / BATCH * 1e6:.0f} µs per text)")
print(f"ratio sim/default: {routed / baseline:.1f}x")
print(f"reserved parts: {sum(SimDayCount.objects.values_list('sent', flat=True))} (= {ROUNDS} x {BATCH})")
