from django.core.management.base import BaseCommand

from campaigns.followups import send_followups


class Command(BaseCommand):
    help = "Queue each template's follow-up to the recipients of its first text whose delay has passed (cron)."

    def handle(self, *args, verbosity=1, **options):
        def progress(summary):
            if verbosity >= 2:
                self.stdout.write(f"  {summary}")

        summary = send_followups(progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
