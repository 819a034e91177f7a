from django.apps import AppConfig


class RepliesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "replies"
