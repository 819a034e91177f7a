from django.core.management.base import BaseCommand

from modems.health import check_routes, unhealthy_routes


class Command(BaseCommand):
    help = "Mark SMPP routes whose worker stopped confirming its bind as failing (and fail them over)."

    def handle(self, *args, **options):
        counts = check_routes()
        for sim in unhealthy_routes():
            self.stdout.write(f"{sim}: unhealthy since {sim.health_changed_at:%Y-%m-%d %H:%M}: {sim.health_reason}")
        self.stdout.write(f"{counts['checked']} SMPP routes checked, {counts['down']} newly down")
