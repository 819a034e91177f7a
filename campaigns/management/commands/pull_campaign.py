from django.core.management.base import BaseCommand, CommandError

from campaigns.models import PullRun
from campaigns.pull import NO_SOURCE, pull_campaign, source_configured


class Command(BaseCommand):
    help = "Fetch contacts from TEXTING_API_URL and queue the campaign texts (cron). Safe to run twice at once."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="Override TEXTING_API_URL for this run")

    def handle(self, *args, url=None, verbosity=1, **options):
        def progress(done, total):
            if verbosity >= 1:
                self.stdout.write(f"  {done}/{total} rows")

        if not source_configured(url):
            # Uploads and pasted lists work without a source: cron must not fail (nor record a
            # failed pull that hides the real "Last pull") every ten minutes.
            self.stdout.write(NO_SOURCE)
            return
        run = pull_campaign(trigger="cron", url=url, progress=progress)
        if run.state == PullRun.State.LOCKED:
            self.stdout.write(self.style.WARNING("Skipped: another pull is running"))
        elif run.state == PullRun.State.FAILED:
            raise CommandError(f"Pull #{run.pk} failed: {run.error}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Pull #{run.pk} into {run.campaign}: {run.summary}"))
