from django.core.management.base import BaseCommand

from sms.receiving import recover_inbound


class Command(BaseCommand):
    help = (
        "Finish inbound texts the pipeline left behind: deferred steps whose task was lost, and "
        "texts a keyword handler asked to see again that the gateway never re-delivered (cron: every minute)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=None, help="Seconds a text must have waited (SMS_INBOUND_RECOVER_SECONDS)"
        )

    def handle(self, *args, older_than=None, **options):
        from datetime import timedelta

        counts = recover_inbound(older_than=None if older_than is None else timedelta(seconds=older_than))
        summary = f"{counts['deferred']} sorted, {counts['retried']} re-run, {counts['still_pending']} still pending"
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
