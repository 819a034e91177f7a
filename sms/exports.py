"""What the messaging core exports (see ``sms.export``): texts sent and received, contacts,
and the consent ledger. Registered in ``SmsConfig.ready``."""

from sms.export import Column, Export, choices_label, register
from sms.filters import ConsentFilter, ContactFilter, InboundFilter, OutboundFilter
from sms.models import ConsentEvent, Contact, Encoding, InboundMessage, OutboundMessage, State


def register_all() -> None:
    register(
        Export(
            slug="outbound",
            title="Texts sent",
            queryset=lambda: OutboundMessage.objects.all(),
            filterset=OutboundFilter,
            columns=[
                Column("id", "pk"),
                Column("created", "created_at"),
                Column("to", "recipient"),
                Column("from", "sender"),
                Column("text", "content"),
                Column("state", "state", choices_label(State.choices)),
                Column("sent", "sent_at"),
                Column("delivered", "delivered_at"),
                Column("error", "error"),
                Column("backend", "backend"),
                Column("sim", "sim__name"),
                Column("campaign", "campaign__name"),
                Column("template", "template_slug"),
                Column("tag", "tag"),
                Column("encoding", "encoding", choices_label(Encoding.choices)),
                Column("segments", "segments"),
                Column("attempts", "number_of_send_attempts"),
                Column("gateway id", "external_id"),
                Column("reference", "reference", str),
            ],
        )
    )
    register(
        Export(
            slug="received",
            title="Texts received",
            queryset=lambda: InboundMessage.objects.all(),
            filterset=InboundFilter,
            columns=[
                Column("id", "pk"),
                Column("received", "received_at"),
                Column("from", "sender"),
                Column("to", "recipient"),
                Column("text", "content"),
                Column("contact", "contact__name"),
                Column("in reply to", "in_reply_to_id"),
                Column("campaign", "in_reply_to__campaign__name"),
                Column("backend", "backend"),
                Column("sim", "sim__name"),
                Column("gateway id", "external_id"),
            ],
        )
    )
    register(
        Export(
            slug="contacts",
            title="Contacts",
            queryset=lambda: Contact.objects.all(),
            filterset=ContactFilter,
            columns=[
                Column("id", "pk"),
                Column("number", "number"),
                Column("name", "name"),
                Column("opted out", "opted_out_at"),
                Column("opt-out reason", "opt_out_reason"),
                Column("created", "created_at"),
            ],
        )
    )
    register(
        Export(
            slug="consent",
            title="Consent ledger",
            queryset=lambda: ConsentEvent.objects.all(),
            filterset=ConsentFilter,
            ordering=("at", "pk"),
            columns=[
                Column("id", "pk"),
                Column("at", "at"),
                Column("number", "number"),
                Column("event", "kind", choices_label(ConsentEvent.Kind.choices)),
                Column("scope", "scope"),
                Column("source", "source"),
                Column("evidence", "evidence"),
                Column("recorded by", "recorded_by__username"),
            ],
        )
    )
