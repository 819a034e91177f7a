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
                who = status.identity
                identity = ""
                if who and (who.manufacturer or who.model or who.imei):
                    name = " ".join(filter(None, (who.manufacturer, who.model)))
                    identity = f" [{name}{', IMEI ' + who.imei if who.imei else ''}]"
                self.stdout.write(
                    f"{sim} ({sim.device}): SIM {status.sim_text}, {signal}, {status.registration_text}"
                    f"{', ' + status.operator if status.operator else ''}{storage}{identity}"
                )

        summary = check_all(progress=progress)
        self.stdout.write(str(summary))
