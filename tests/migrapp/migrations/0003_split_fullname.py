from django.db import migrations, models


def split_fullname(apps, schema_editor):
    """"Ada Lovelace" -> first_name "Ada", last_name "Lovelace"."""
    Player = apps.get_model("migrapp", "Player")
    for player in Player.objects.using(schema_editor.connection.alias).order_by("pk"):
        player.first_name, _, player.last_name = player.fullname.partition(" ")
        player.save(update_fields=["first_name", "last_name"])


def join_fullname(apps, schema_editor):
    Player = apps.get_model("migrapp", "Player")
    for player in Player.objects.using(schema_editor.connection.alias).order_by("pk"):
        player.fullname = " ".join(part for part in (player.first_name, player.last_name) if part)
        player.save(update_fields=["fullname"])


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0002_rename_nick")]

    operations = [
        migrations.AddField(
            model_name="player",
            name="first_name",
            field=models.CharField(default="", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="player",
            name="last_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(split_fullname, join_fullname),
        migrations.RemoveField(model_name="player", name="fullname"),
    ]
