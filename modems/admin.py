from django.contrib import admin

from modems.models import InboundPart, Network, SimCard, SimDayCount


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "carrier_names", "mcc_mnc"]


@admin.register(SimCard)
class SimCardAdmin(admin.ModelAdmin):
    # Credentials are environment variable *names*; even those stay off the list.
    list_display = ["__str__", "network", "number", "device", "backend", "daily_limit", "priority", "active"]
    list_filter = ["active", "network"]
    readonly_fields = [
        "status_checked_at",
        "sim_status",
        "signal_rssi",
        "registration",
        "operator",
        "storage_used",
        "storage_total",
        "status_error",
        "last_read_at",
    ]


@admin.register(SimDayCount)
class SimDayCountAdmin(admin.ModelAdmin):
    list_display = ["sim", "date", "sent", "received"]
    list_filter = ["date"]
    list_select_related = ["sim"]


@admin.register(InboundPart)
class InboundPartAdmin(admin.ModelAdmin):
    list_display = ["sim", "sender", "reference", "seq", "total", "sent_at", "assembled_into"]
    list_select_related = ["sim"]
