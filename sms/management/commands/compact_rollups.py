from django.core.management.base import BaseCommand

from sms import rollups


class Command(BaseCommand):
    help = (
        "Fold the roll-up deltas into the daily counts (cron: every minute). --repair first recounts "
        "the texts and corrects any drift (e.g. after loading rows with triggers disabled, or after "
        "changing TIME_ZONE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Recount every text and correct the roll-ups")

    def handle(self, *args, repair=False, **options):
        from django.conf import settings

        fixed = 0
        if repair:
            if rollups.set_zone(settings.TIME_ZONE):
                self.stdout.write(f"Counting days in {settings.TIME_ZONE} from now on")
            self.stdout.write("Recounting the texts...")
            fixed = rollups.repair()
            self.stdout.write(f"  {fixed} keys corrected")
        folded = rollups.compact()
        self.stdout.write(self.style.SUCCESS(f"Done: {folded} delta rows folded, {fixed} keys corrected"))
