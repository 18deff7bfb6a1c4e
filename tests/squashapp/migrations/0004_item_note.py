from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("squashapp", "0001_squashed_0003_rename_name_title")]

    operations = [
        migrations.AddField(
            model_name="item", name="note",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
    ]
