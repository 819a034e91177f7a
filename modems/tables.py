import django_tables2 as tables

from modems.models import Network, SimCard

# Columns a 390 px phone does without (hidden below the md breakpoint, see texting.css).
WIDE = {"th": {"class": "wide-only"}, "td": {"class": "wide-only"}}


class SimCardTable(tables.Table):
    name = tables.Column(accessor="pk", verbose_name="SIM", linkify=True, order_by=("name", "number"))
    network = tables.Column(attrs=WIDE)
    number = tables.Column(attrs=WIDE)
    route = tables.Column(accessor="route_label", verbose_name="Sends through", orderable=False, attrs=WIDE)
    today = tables.TemplateColumn(
        template_name="modems/_today_bar.html", verbose_name="Sent today / limit", order_by=("sent_today",)
    )
    signal = tables.TemplateColumn(template_name="modems/_signal.html", order_by=("signal_rssi",), attrs=WIDE)
    priority = tables.Column(attrs=WIDE)
    health = tables.TemplateColumn(
        template_code='{% if record.healthy %}<span class="badge text-bg-success">healthy</span>'
        '{% else %}<span class="badge text-bg-danger" title="{{ record.health_reason }}">unhealthy</span>{% endif %}',
        order_by=("healthy",),
    )
    active = tables.BooleanColumn()

    class Meta:
        model = SimCard
        fields = ["name", "network", "number", "route", "today", "signal", "priority", "health", "active"]
        attrs = {"class": "table table-sm table-hover align-middle", "id": "sims"}
        row_attrs = {"data-sim": lambda record: record.pk}

    def render_name(self, record):
        return str(record)


class NetworkTable(tables.Table):
    name = tables.Column(linkify=True)
    kind = tables.Column()
    sim_count = tables.Column(verbose_name="SIMs")

    class Meta:
        model = Network
        fields = ["name", "kind", "carrier_names", "mcc_mnc", "sim_count"]
        attrs = {"class": "table table-sm table-hover", "id": "networks"}
