import time

from django.core.management.base import BaseCommand

from sms.consent import apply_due_opt_outs
from sms.dispatch import dispatch, recover_stuck


class Command(BaseCommand):
    help = "Send every due outbound text (cron: every minute), after resolving texts stuck in SENDING."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--max-batches", type=int, default=None)
        parser.add_argument("--loop", action="store_true", help="Keep running, polling every --interval seconds")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, batch_size=None, max_batches=None, loop=False, interval=5.0, verbosity=1, **options):
        def progress(summary):
            if verbosity >= 1:
                self.stdout.write(f"  batch {summary.batches}: {summary}")

        while True:
            applied = apply_due_opt_outs()  # staff "End" labels whose grace period is over
            if applied:
                self.stdout.write(f"Opt-outs now standing: {applied}")
            recovered = recover_stuck()
            if any(recovered.values()):
                self.stdout.write(
                    f"Recovered stuck texts: {recovered['requeued']} re-queued, {recovered['unknown']} marked unknown"
                )
            summary = dispatch(batch_size=batch_size, max_batches=max_batches, progress=progress)
            for error in summary.errors[:10]:
                self.stderr.write(f"  error: {error}")
            self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
            if not loop:
                return
            time.sleep(interval)
