from django.apps import AppConfig


class RepliesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "replies"

    def ready(self):
        from replies import exports

        exports.register_all()
