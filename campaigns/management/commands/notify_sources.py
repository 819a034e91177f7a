from django.core.management.base import BaseCommand

from campaigns.control import check_error_rates, refresh_states
from campaigns.notify import collect_notifications, send_notifications


class Command(BaseCommand):
    help = (
        "Tell the data source which groups have left and retry failed notifications with backoff; "
        "also completes finished campaigns and applies the error-rate guard (cron: every minute)."
    )

    def handle(self, *args, verbosity=1, **options):
        for campaign in check_error_rates():
            self.stdout.write(self.style.WARNING(f"Paused {campaign}: {campaign.paused_reason}"))
        states = refresh_states()
        created = collect_notifications()
        summary = send_notifications()
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {created} new notifications; {summary}; {states['completed']} campaigns completed"
            )
        )
