from django.core.management.base import BaseCommand

from campaigns.notify import notify_sources


class Command(BaseCommand):
    help = (
        "Tell the data source which groups have left and retry failed notifications with backoff; "
        "also completes finished campaigns and applies the error-rate guard (cron: every minute)."
    )

    def handle(self, *args, verbosity=1, **options):
        run = notify_sources()
        for campaign in run.paused:
            self.stdout.write(self.style.WARNING(f"Paused {campaign}: {campaign.paused_reason}"))
        self.stdout.write(self.style.SUCCESS(f"Done: {run}"))
