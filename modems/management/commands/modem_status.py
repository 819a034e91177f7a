from django.core.management.base import BaseCommand

from modems.reading import check_all


class Command(BaseCommand):
    help = "Ask every active modem for its SIM status, signal strength and network registration."

    def handle(self, *args, **options):
        def progress(sim, status):
            if status is None:
                self.stdout.write(f"{sim} ({sim.device}): ERROR {sim.status_error}")
            else:
                signal = f"{status.signal_dbm} dBm" if status.signal_dbm is not None else "no signal"
                storage = f", {status.storage_used}/{status.storage_total} texts stored" if status.storage_total else ""
                self.stdout.write(
                    f"{sim} ({sim.device}): SIM {status.sim}, {signal}, {status.registration_text}"
                    f"{', ' + status.operator if status.operator else ''}{storage}"
                )

        summary = check_all(progress=progress)
        self.stdout.write(str(summary))
