from django.core.management.base import BaseCommand

from sms.delivery import check_delivery


class Command(BaseCommand):
    help = "Ask gateways that support it for the delivery state of sent texts (cron: every 10 minutes)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="Only texts sent in the last N days")

    def handle(self, *args, days=7, verbosity=1, **options):
        def progress(summary):
            if verbosity >= 2:
                self.stdout.write(f"  {summary}")

        summary = check_delivery(max_age_days=days, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
