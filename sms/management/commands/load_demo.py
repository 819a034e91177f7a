import secrets
from importlib import import_module

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load demo data of every app (each app's demo.load) and create a staff login, printed on screen."

    @staticmethod
    def demo_modules() -> list:
        """Each app's ``demo`` module, in INSTALLED_APPS order unless a module sets ``ORDER``
        (default 0, lower first): e.g. SIMs exist before texts are sent, campaigns come last."""
        modules = []
        for config in apps.get_app_configs():
            try:
                modules.append(import_module(f"{config.name}.demo"))
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
        return sorted(modules, key=lambda module: getattr(module, "ORDER", 0))

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username="demo", **options):
        modules = self.demo_modules()
        for module in modules:
            module.load(self.stdout)
        for module in modules:  # once every app's data is in (e.g. SIM counts from the texts sent)
            if hasattr(module, "finish"):
                module.finish(self.stdout)
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        line = "=" * 60
        self.stdout.write(
            self.style.SUCCESS(
                f"{line}\n  Texting is ready.  Log in at http://127.0.0.1:8000/\n"
                f"  username: {username}\n  password: {password}\n{line}"
            )
        )
