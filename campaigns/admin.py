from django.contrib import admin

from campaigns.models import Campaign, Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "changed_at"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug", "body"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
