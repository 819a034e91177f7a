from django.contrib import admin

from replies.models import ClassifierModel, Label, Reply, ReplyType
from replies.rollups import ReplyCount, ReplyCountDelta
from sms.admin import RollupAdmin


@admin.register(ReplyType)
class ReplyTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "action", "allows_followup", "ordering"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ["message", "reply_type", "source", "confidence", "needs_review", "categorised_at"]
    list_filter = ["reply_type", "source", "needs_review"]
    raw_id_fields = ["message", "auto_reply"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["message", "type_name", "source", "confidence", "by", "at"]
    list_filter = ["source"]
    raw_id_fields = ["message"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClassifierModel)
class ClassifierModelAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "algorithm", "training_size", "created_at"]


@admin.register(ReplyCount, ReplyCountDelta)
class ReplyRollupAdmin(RollupAdmin):
    """The replies' roll-up (replies/rollups.py): the triggers' to write, shown, never edited."""

    list_display = ["day", "campaign_pk", "template_pk", "reply_type_pk", "source", "keyword", "needs_review", "n"]
    list_filter = ["day", "source", "needs_review"]
