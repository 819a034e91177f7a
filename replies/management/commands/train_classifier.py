from django.core.management.base import BaseCommand, CommandError

from replies.classifier import ALGORITHMS, TrainingBusy, train


class Command(BaseCommand):
    help = "Cross-validate the candidate models on the staff's labels, keep the best, save a new version."

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", action="append", choices=ALGORITHMS, help="Only these (repeatable)")
        parser.add_argument("--folds", type=int, default=5)

    def handle(self, *args, algorithm=None, folds=5, **options):
        try:
            row = train(progress=self.stdout.write, algorithms=tuple(algorithm or ALGORITHMS), folds=folds)
        except TrainingBusy as exc:
            raise CommandError(str(exc)) from None
        if row.status == row.Status.READY:
            m = row.metrics
            self.stdout.write(
                self.style.SUCCESS(
                    f"Classifier v{row.version} ready: {row.algorithm} on {row.training_size} texts, "
                    f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, {row.seconds:.1f}s"
                )
            )
        else:
            self.stdout.write(self.style.WARNING(f"Classifier v{row.version} {row.status}: {row.note}"))
