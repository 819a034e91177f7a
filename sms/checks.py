"""System checks of the messaging core."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError


def register() -> None:
    checks.register(rollup_zone, checks.Tags.database)


def rollup_zone(app_configs, databases=None, **kwargs):
    """The roll-ups count days in the zone they were created in; a new TIME_ZONE needs a recount.
    A database check: run by ``check --database default`` (and ``migrate``), not at every start."""
    from sms.rollups import RollupZone

    if not databases:
        return []
    try:
        stored = RollupZone.objects.values_list("name", flat=True).first()
    except DatabaseError:  # not migrated yet
        return []
    if stored and stored != settings.TIME_ZONE:
        return [
            checks.Warning(
                f"The roll-ups count days in {stored}, TIME_ZONE is {settings.TIME_ZONE}.",
                hint="Run manage.py compact_rollups --repair to recount them in the new zone.",
                id="sms.W001",
            )
        ]
    return []
