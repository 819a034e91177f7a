from django.core.management.base import BaseCommand, CommandError

from replies.classifier import ALGORITHMS, TrainingBusy, train
from replies.sorting import resort_pending


class Command(BaseCommand):
    help = "Cross-validate the candidate models on the staff's labels, keep the best, save a new version."

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", action="append", choices=ALGORITHMS, help="Only these (repeatable)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--resort", action="store_true", help="Then re-sort texts still waiting for review")

    def handle(self, *args, algorithm=None, folds=5, resort=False, **options):
        try:
            row = train(progress=self.stdout.write, algorithms=tuple(algorithm or ALGORITHMS), folds=folds)
        except TrainingBusy as exc:
            raise CommandError(str(exc)) from None
        if row.status != row.Status.READY:
            self.stdout.write(self.style.WARNING(f"Classifier v{row.version} {row.status}: {row.note}"))
            return
        sorted_ = f"; {resort_pending()} waiting texts sorted" if resort else ""
        m = row.metrics
        self.stdout.write(
            self.style.SUCCESS(
                f"Classifier v{row.version} ready: {row.algorithm} on {row.training_size} texts, "
                f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, {row.seconds:.1f}s{sorted_}"
            )
        )
