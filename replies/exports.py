"""What the replies app exports (see ``sms.export``): the inbox with each text's sorting."""

from replies.filters import InboxFilter
from replies.models import Source
from sms.export import Column, Export, choices_label, register
from sms.models import InboundMessage


def register_all() -> None:
    register(
        Export(
            slug="replies",
            title="Replies (the inbox)",
            queryset=lambda: InboundMessage.objects.all(),
            filterset=InboxFilter,
            columns=[
                Column("id", "pk"),
                Column("received", "received_at"),
                Column("from", "sender"),
                Column("contact", "contact__name"),
                Column("text", "content"),
                Column("type", "reply__reply_type__name"),
                Column("sorted by", "reply__source", choices_label(Source.choices)),
                Column("confidence", "reply__confidence"),
                Column("needs review", "reply__needs_review"),
                Column("suggested type", "reply__suggested_type__name"),
                Column("keyword", "reply__keyword"),
                Column("sorted at", "reply__categorised_at"),
                Column("sorted by staff", "reply__categorised_by__username"),
                Column("campaign", "in_reply_to__campaign__name"),
                Column("sim", "sim__name"),
            ],
        )
    )
