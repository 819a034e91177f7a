from django.apps import AppConfig


class SmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sms"

    def ready(self):
        from sms import exports

        exports.register_all()
