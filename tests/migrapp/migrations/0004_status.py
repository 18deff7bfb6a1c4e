from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0003_split_fullname")]

    operations = [
        migrations.RemoveField(model_name="player", name="born"),
        migrations.AddField(
            model_name="player",
            name="status",
            field=models.CharField(default="active", max_length=20),
        ),
    ]
