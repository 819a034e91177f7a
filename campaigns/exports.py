"""What campaigns export (see ``sms.export``): a campaign's recipients with the outcome of
their text, and its rejected rows with the reason."""

from django.db.models import OuterRef, Subquery

from campaigns.models import Recipient, RejectedRow
from sms.export import Column, Export, choices_label, register
from sms.models import OutboundMessage, State


def _recipients(pk: int):
    first_text = OutboundMessage.objects.filter(campaign_id=OuterRef("campaign_id"), recipient=OuterRef("number"))
    first_text = first_text.order_by("pk")
    return Recipient.objects.filter(campaign_id=pk).annotate(
        text_state=Subquery(first_text.values("state")[:1]),
        text_delivered_at=Subquery(first_text.values("delivered_at")[:1]),
        text_error=Subquery(first_text.values("error")[:1]),
    )


def register_all() -> None:
    register(
        Export(
            slug="campaign-recipients",
            title="Campaign recipients",
            queryset=_recipients,
            columns=[
                Column("number", "number"),
                Column("number as given", "source_number"),
                Column("name", "name"),
                Column("group", "group__name"),
                Column("queued", "created_at"),
                Column("state", "text_state", choices_label(State.choices)),
                Column("delivered", "text_delivered_at"),
                Column("error", "text_error"),
                Column("follow-up queued", "followup_at"),
                Column("no follow-up because", "followup_skipped"),
            ],
        )
    )
    register(
        Export(
            slug="campaign-rejected",
            title="Campaign rejected rows",
            queryset=lambda pk: RejectedRow.objects.filter(campaign_id=pk),
            columns=[
                Column("group", "group"),
                Column("number", "number"),
                Column("name", "name"),
                Column("reason", "reason", choices_label(RejectedRow.Reason.choices)),
                Column("detail", "detail"),
                Column("at", "created_at"),
            ],
        )
    )
