from django.apps import AppConfig


class ModemsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "modems"
