"""Campaign figures read from the roll-ups (``sms.rollups``), attached to fetched campaigns by
``Campaign.objects.with_counts()``: two grouped queries for a whole page of campaigns."""

from campaigns.models import TAG_FIRST


def attach_counts(campaigns: list) -> None:
    from sms import rollups
    from sms.models import GONE_OUT_STATES, State

    # n_sent: every text that went out, whatever became of it later (delivered, failed after
    # sending); n_in_flight: gone out, no delivery report yet (the progress bar's "sent" part).
    buckets = {
        State.SENT: ("n_in_flight",),
        State.DEBUG: ("n_in_flight",),
        State.DELIVERED: ("n_delivered",),
        State.ERROR: ("n_failed",),
        State.ERROR_UPDATE: ("n_failed",),
        State.UNKNOWN: ("n_failed",),
        State.REFUSED: ("n_failed",),
        State.ABORTED: ("n_aborted",),
        State.WAITING: ("n_pending",),
        State.ERROR_RETRY: ("n_pending",),
        State.SENDING: ("n_pending",),
    }
    names = ("total", "n_sent", "n_in_flight", "n_delivered", "n_failed", "n_aborted", "n_pending", "n_replied")
    pks = [c.pk for c in campaigns]
    figures = {pk: dict.fromkeys(names, 0) for pk in pks}
    if pks:
        out = rollups.outbound_counts(by=("campaign_pk", "state"), campaign_pk__in=pks, tag=TAG_FIRST)
        for (pk, state), row in out.items():
            figures[pk]["total"] += row["n"]
            for name in buckets.get(state, ()):
                figures[pk][name] += row["n"]
            if state in GONE_OUT_STATES:
                figures[pk]["n_sent"] += row["n"]
        for (pk,), row in rollups.inbound_counts(by=("campaign_pk",), campaign_pk__in=pks).items():
            figures[pk]["n_replied"] = row["n"]
    for campaign in campaigns:
        for name, value in figures[campaign.pk].items():
            setattr(campaign, name, value)
