import time

from django.core.management.base import BaseCommand

from modems.simulator import ModemSimulator


class Command(BaseCommand):
    help = (
        "Run a simulated GSM modem on a pseudo-terminal (for a demo without hardware). Add a SIM with the "
        "printed device path; texts sent through it are printed, and --incoming-every delivers sample replies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--incoming-every", type=float, default=0, help="seconds between sample incoming texts")
        parser.add_argument("--sender", default="+447911123001")

    def handle(self, *args, incoming_every=0.0, sender="+447911123001", **options):
        with ModemSimulator() as sim:
            self.stdout.write(f"Simulated modem on {sim.port} (Ctrl-C to stop)")
            self.stdout.flush()
            seen, last_incoming, count = 0, time.monotonic(), 0
            try:
                while True:
                    time.sleep(0.5)
                    for item in sim.network[seen:]:
                        self.stdout.write(f"sent to {item.number}: {item.text}")
                    seen = len(sim.network)
                    self.stdout.flush()
                    if incoming_every and time.monotonic() - last_incoming >= incoming_every:
                        count += 1
                        sim.deliver(sender, f"Sample reply {count}")
                        last_incoming = time.monotonic()
            except KeyboardInterrupt:
                pass
            self.stdout.write(f"Stopped: {len(sim.network)} parts sent, {len(sim.storage)} texts left on the SIM")
