from django.contrib import admin

from keywords.models import BrokerProvider, Dispatch, Keyword, Number, StandardWords


@admin.register(Number)
class NumberAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "kind", "catch_all"]


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ["word", "is_active", "handler", "reply_type_slug", "per_contact_limit", "last_failure_at"]
    list_filter = ["is_active"]
    search_fields = ["word", "description"]
    filter_horizontal = ["numbers"]


@admin.register(StandardWords)
class StandardWordsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "changed_at"]


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ["message", "routed_by", "state", "sender", "attempts", "at"]
    list_filter = ["state", "routed_by"]
    raw_id_fields = ["message", "reply"]
    readonly_fields = [f.name for f in Dispatch._meta.fields]


@admin.register(BrokerProvider)
class BrokerProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active"]
    exclude = ["secret_hash"]
