from django.core.management.base import BaseCommand

from modems.reading import read_in


class Command(BaseCommand):
    help = "Read the texts stored on every active modem's SIM, store and classify them, then delete them from the SIM."

    def handle(self, *args, **options):
        def progress(sim, result):
            self.stdout.write(
                f"{sim}: {result.stored} stored, {result.parts_kept} parts waiting, {result.deleted} deleted"
            )
            for error in result.errors:
                self.stderr.write(f"  {error}")

        summary = read_in(progress=progress)
        self.stdout.write(str(summary))
