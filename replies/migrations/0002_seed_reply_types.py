from django.db import migrations

SEED = [
    # name, slug, colour, action, allows_followup, ordering, auto_reply_text
    ("Thanks", "thanks", "#198754", "none", True, 10, ""),
    ("End", "end", "#dc3545", "opt_out", False, 20, ""),
    ("Bot", "bot", "#6f42c1", "none", False, 30, ""),
    ("Misc", "misc", "#6c757d", "none", True, 40, ""),
]


def seed(apps, schema_editor):
    ReplyType = apps.get_model("replies", "ReplyType")
    for name, slug, colour, action, followup, ordering, text in SEED:
        ReplyType.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "colour": colour,
                "action": action,
                "allows_followup": followup,
                "ordering": ordering,
                "auto_reply_text": text,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("replies", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
