import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from sms.models import InboundMessage
from sms.tables import WIDE


class InboxTable(tables.Table):
    select = tables.CheckBoxColumn(accessor="pk", attrs={"input": {"name": "ids", "form": "bulk"}})
    received_at = tables.DateTimeColumn(verbose_name="Received", format="j M H:i", attrs=WIDE)
    sender = tables.Column(verbose_name="From")
    content = tables.Column(verbose_name="Text", orderable=False, attrs={"td": {"class": "sms-content"}})
    reply_type = tables.Column(accessor="reply__reply_type", verbose_name="Type", orderable=False, empty_values=())
    campaign = tables.Column(accessor="in_reply_to__campaign", verbose_name="Campaign", orderable=False, attrs=WIDE)
    sim = tables.Column(verbose_name="SIM", orderable=False, attrs=WIDE)

    class Meta:
        model = InboundMessage
        fields = ["select", "received_at", "sender", "content", "reply_type", "campaign", "sim"]
        attrs = {"class": "table table-sm table-hover align-middle", "id": "inbox"}
        row_attrs = {
            "data-pk": lambda record: record.pk,
            "data-set-url": lambda record: reverse("replies:set_type", args=[record.pk]),
        }
        order_by = "-received_at"

    def render_sender(self, record, value):
        if not record.contact_id:
            return value
        label = record.contact.name or value
        url = reverse("replies:conversation", args=[record.contact_id])
        return format_html('<a href="{}" class="conversation-link">{}</a>', url, label)

    def render_content(self, record, value):
        # On a phone the Received column is hidden: its time goes under the text instead.
        when = date_format(timezone.localtime(record.received_at), "j M H:i")
        return format_html('{}<div class="small text-muted d-md-none">{}</div>', value, when)

    def render_reply_type(self, record):
        reply = getattr(record, "reply", None)
        request = getattr(self, "request", None)
        context = {
            "reply": reply,
            "pending_due": getattr(record, "pending_opt_out_due", None),
            "next": request.get_full_path() if request else "",
        }
        return render_to_string("replies/_type_cell.html", context, request=request)
