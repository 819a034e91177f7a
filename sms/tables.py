"""Tables of the message lists (django-tables2): sortable columns, paginated, Bootstrap 5."""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from sms.models import Contact, InboundMessage, OutboundMessage, State

STATE_BADGES = {
    State.DEBUG: "secondary",
    State.WAITING: "info",
    State.SENDING: "primary",
    State.SENT: "primary",
    State.DELIVERED: "success",
    State.ERROR_RETRY: "warning",
    State.ERROR: "danger",
    State.ERROR_UPDATE: "danger",
    State.UNKNOWN: "dark",
    State.REFUSED: "secondary",
    State.ABORTED: "secondary",
}


NOWRAP = {"td": {"class": "text-nowrap"}}
# Columns a 390 px phone does without (hidden below the md breakpoint, see texting.css).
WIDE = {"th": {"class": "wide-only"}, "td": {"class": "wide-only"}}
WIDE_NOWRAP = {"th": {"class": "wide-only"}, "td": {"class": "wide-only text-nowrap"}}


def _contact_url(record):
    # From the id alone: following record.contact would cost a query per row.
    return reverse("sms:contact", args=[record.contact_id]) if record.contact_id else None


def state_badge(state: str, label: str) -> str:
    return format_html('<span class="badge text-bg-{}">{}</span>', STATE_BADGES.get(state, "light"), label)


class OutboundTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="Created", format="j M H:i", linkify=True, attrs=WIDE_NOWRAP)
    recipient = tables.Column(verbose_name="To", linkify=_contact_url)
    content = tables.Column(verbose_name="Text", orderable=False, attrs={"td": {"class": "sms-content"}})
    state = tables.Column()
    segments = tables.Column(
        verbose_name="Parts", attrs={"th": {"class": "wide-only"}, "td": {"class": "wide-only text-end"}}
    )
    backend = tables.Column(attrs=WIDE)
    tag = tables.Column(attrs=WIDE)
    campaign = tables.Column(linkify=True, order_by=("campaign__name",), attrs=WIDE)
    sent_at = tables.DateTimeColumn(verbose_name="Sent", format="j M H:i", attrs=WIDE_NOWRAP)

    class Meta:
        model = OutboundMessage
        fields = ["created_at", "recipient", "content", "state", "segments", "backend", "tag", "campaign", "sent_at"]
        order_by = "-created_at"
        attrs = {"class": "table table-sm table-hover align-middle"}
        row_attrs = {"data-pk": lambda record: record.pk}
        empty_text = "No texts match."

    def render_content(self, record, value):
        text = value if len(value) <= 80 else value[:79] + "…"
        # On a phone the Created column (the link to the text) is hidden: it goes under the text.
        when = date_format(timezone.localtime(record.created_at), "j M H:i")
        link = '{}<div class="small d-md-none"><a href="{}">{}</a></div>'
        return format_html(link, text, record.get_absolute_url(), when)

    def render_state(self, record):
        return state_badge(record.state, record.get_state_display())


class InboundTable(tables.Table):
    received_at = tables.DateTimeColumn(verbose_name="Received", format="j M H:i", linkify=True, attrs=NOWRAP)
    sender = tables.Column(verbose_name="From", linkify=_contact_url)
    content = tables.Column(verbose_name="Text", orderable=False, attrs={"td": {"class": "sms-content"}})
    backend = tables.Column(attrs=WIDE)
    in_reply_to = tables.Column(verbose_name="Reply to", linkify=True, orderable=False, attrs=WIDE)

    class Meta:
        model = InboundMessage
        fields = ["received_at", "sender", "content", "backend", "in_reply_to"]
        order_by = "-received_at"
        attrs = {"class": "table table-sm table-hover align-middle"}
        row_attrs = {"data-pk": lambda record: record.pk}
        empty_text = "No texts received match."

    def render_content(self, value):
        return value if len(value) <= 100 else value[:99] + "…"

    def render_in_reply_to(self, value):
        return value.content[:40] + ("…" if len(value.content) > 40 else "")


class ContactTable(tables.Table):
    number = tables.Column(linkify=True, attrs=NOWRAP)
    name = tables.Column()
    opted_out_at = tables.DateTimeColumn(verbose_name="Opted out", format="j M Y", attrs=NOWRAP)
    n_sent = tables.Column(
        verbose_name="Texts sent", attrs={"th": {"class": "wide-only"}, "td": {"class": "wide-only text-end"}}
    )
    n_received = tables.Column(
        verbose_name="Replies", attrs={"th": {"class": "wide-only"}, "td": {"class": "wide-only text-end"}}
    )
    last_received = tables.DateTimeColumn(verbose_name="Last reply", format="j M H:i", attrs=WIDE_NOWRAP)
    conversation = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = Contact
        fields = ["number", "name", "opted_out_at", "n_sent", "n_received", "last_received"]
        order_by = "-created_at"
        attrs = {"class": "table table-sm table-hover align-middle"}
        row_attrs = {"data-pk": lambda record: record.pk}
        empty_text = "No contacts match."

    def render_opted_out_at(self, value, record):
        if value is None:
            return "—"
        when = date_format(timezone.localtime(value), "j M Y")
        return format_html('<span class="badge text-bg-danger" title="{}">{}</span>', record.opt_out_reason, when)

    def render_conversation(self, record):
        return format_html(
            '<a class="btn btn-sm btn-outline-secondary" href="{}">Conversation</a>',
            reverse("replies:conversation", args=[record.pk]),
        )
