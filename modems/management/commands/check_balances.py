from django.core.management.base import BaseCommand

from modems.balances import check_balances


class Command(BaseCommand):
    help = "Ask each active gateway account's provider for its remaining credit (where it has a balance API)."

    def handle(self, *args, **options):
        def progress(sim, summary):
            if sim.balance_error:
                self.stdout.write(f"{sim} ({sim.backend}): ERROR {sim.balance_error}")
            else:
                low = "  LOW" if sim.is_low_on_balance else ""
                self.stdout.write(f"{sim} ({sim.backend}): {sim.balance.normalize():f} {sim.balance_currency}{low}")

        self.stdout.write(str(check_balances(progress=progress)))
