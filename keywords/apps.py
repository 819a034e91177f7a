from django.apps import AppConfig


class KeywordsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "keywords"

    def ready(self):
        from keywords import cache

        cache.connect_signals()
