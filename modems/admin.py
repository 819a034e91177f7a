from django.contrib import admin

from modems.models import InboundPart, Network, RouteHealthEvent, SimCard, SimDayCount, SmppEarlyReceipt, SmppPart


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
        "healthy",
        "failing_since",
        "health_changed_at",
        "health_reason",
        "next_probe_at",
        "link_seen_at",
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


@admin.register(RouteHealthEvent)
class RouteHealthEventAdmin(admin.ModelAdmin):
    list_display = ["sim", "at", "healthy", "reason", "moved"]
    list_filter = ["healthy"]
    list_select_related = ["sim"]


@admin.register(SmppPart)
class SmppPartAdmin(admin.ModelAdmin):
    list_display = ["smsc_id", "message", "seq", "total", "stat", "submitted_at"]
    search_fields = ["smsc_id"]
    raw_id_fields = ["message"]


@admin.register(SmppEarlyReceipt)
class SmppEarlyReceiptAdmin(admin.ModelAdmin):
    list_display = ["smsc_id", "sim", "stat", "received_at"]
