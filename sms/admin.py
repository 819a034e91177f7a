from django.contrib import admin

from sms.models import (
    ConsentEvent,
    Contact,
    GatewayInboundPart,
    InboundMessage,
    OutboundMessage,
    PendingOptOut,
    RateBucket,
    RelatedObject,
    StatusChange,
)
from sms.rollups import InboundCount, InboundCountDelta, OutboundCount, OutboundCountDelta, RollupZone


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    readonly_fields = ["state", "at", "note", "by"]
    can_delete = False


class RelatedObjectInline(admin.TabularInline):
    model = RelatedObject
    extra = 0


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "recipient", "state", "backend", "tag", "segments", "created_at", "sent_at"]
    list_filter = ["state", "backend", "encoding", "tag"]
    search_fields = ["recipient", "content", "external_id", "reference"]
    date_hierarchy = "created_at"
    raw_id_fields = ["contact", "campaign", "template", "sim"]
    readonly_fields = ["reference", "claim_token", "claimed_at", "request_started_at"]
    inlines = [StatusChangeInline, RelatedObjectInline]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "sender", "recipient", "backend", "received_at", "content"]
    list_filter = ["backend"]
    search_fields = ["sender", "content", "external_id"]
    date_hierarchy = "received_at"
    raw_id_fields = ["contact", "in_reply_to", "sim"]


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "scope", "source", "evidence", "recorded_by", "at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "opted_out_at", "created_at"]
    list_filter = [("opted_out_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "name"]
    inlines = [ConsentEventInline]


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only."""

    list_display = ["number", "kind", "scope", "source", "at"]
    list_filter = ["kind", "source"]
    search_fields = ["number", "evidence"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["message", "state", "at", "note"]
    list_filter = ["state"]
    raw_id_fields = ["message"]


@admin.register(RelatedObject)
class RelatedObjectAdmin(admin.ModelAdmin):
    list_display = ["message", "content_type", "object_id"]
    raw_id_fields = ["message"]


class RollupAdmin(admin.ModelAdmin):
    """The roll-ups are the triggers' to write (sms/rollups.py): shown, never edited by hand."""

    list_display = ["day", "sim_pk", "backend", "campaign_pk", "template_pk", "n"]
    list_filter = ["day"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundCount, OutboundCountDelta)
class OutboundRollupAdmin(RollupAdmin):
    list_display = [
        "day",
        "sim_pk",
        "backend",
        "state",
        "campaign_pk",
        "template_pk",
        "tag",
        "encoding",
        "n",
        "segments",
    ]


admin.site.register([InboundCount, InboundCountDelta], RollupAdmin)


@admin.register(RollupZone)
class RollupZoneAdmin(RollupAdmin):
    list_display = ["name"]
    list_filter = []


@admin.register(RateBucket)
class RateBucketAdmin(admin.ModelAdmin):
    """The database limiter's state (one row per rate-limited route); read only."""

    list_display = ["key", "next_free_at"]
    search_fields = ["key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GatewayInboundPart)
class GatewayInboundPartAdmin(admin.ModelAdmin):
    """Parts of long texts a gateway delivered piecewise, waiting for their siblings."""

    list_display = ["pk", "backend", "sender", "concat_ref", "seq", "total", "assembled", "first_seen_at"]
    list_filter = ["backend", "assembled"]
    search_fields = ["sender", "external_id", "concat_ref"]


@admin.register(PendingOptOut)
class PendingOptOutAdmin(admin.ModelAdmin):
    """Read-only: a staff "End" waits here through its grace period (undone from the inbox)."""

    list_display = ["number", "status", "due_at", "created_by", "resolved_at"]
    list_filter = ["status"]
    search_fields = ["number"]
    readonly_fields = [f.name for f in PendingOptOut._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
