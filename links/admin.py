from django.contrib import admin

from links.models import Click, Link


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ["token", "recipient", "target_url", "target_view", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["token", "recipient"]
    raw_id_fields = ["message"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected links")
    def revoke(self, request, queryset):
        self.message_user(request, f"{queryset.revoke()} links revoked.")


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ["link", "at", "is_bot", "is_unique", "user_agent"]
    list_filter = ["is_bot", "is_unique"]
    raw_id_fields = ["link"]
