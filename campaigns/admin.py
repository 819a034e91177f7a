from django.contrib import admin

from campaigns.models import (
    Campaign,
    CampaignGroup,
    GreetingRule,
    Notification,
    PullRun,
    Recipient,
    RejectedRow,
    Template,
)


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "add_opt_out_footer", "changed_at"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug", "body"]


class GroupInline(admin.TabularInline):
    model = CampaignGroup
    extra = 0
    readonly_fields = ["name", "template", "skipped_reason", "rows_skipped"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "source", "created_at", "scheduled_for"]
    list_filter = ["state", "source"]
    search_fields = ["name", "key"]
    inlines = [GroupInline]


@admin.register(CampaignGroup)
class CampaignGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "template", "skipped_reason"]
    list_select_related = ["campaign", "template"]


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "campaign", "group", "followup_at", "followup_skipped"]
    list_select_related = ["campaign", "group"]
    search_fields = ["number", "source_number"]
    raw_id_fields = ["campaign", "group", "notification"]


@admin.register(RejectedRow)
class RejectedRowAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "group", "reason", "detail", "campaign"]
    list_filter = ["reason"]
    list_select_related = ["campaign"]
    search_fields = ["number"]


@admin.register(PullRun)
class PullRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "state", "trigger", "created_at", "queued", "rejected", "campaign"]
    list_filter = ["state"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["group", "state", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["state"]
    list_select_related = ["group"]


@admin.register(GreetingRule)
class GreetingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "phrase", "country", "priority", "is_active"]
    list_editable = ["phrase", "priority", "is_active"]
    list_filter = ["country", "is_active"]
