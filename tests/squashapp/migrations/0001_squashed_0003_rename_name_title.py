from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    replaces = [
        ("squashapp", "0001_initial"),
        ("squashapp", "0002_item_size"),
        ("squashapp", "0003_rename_name_title"),
    ]
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=100)),
                ("size", models.IntegerField(default=0)),
            ],
        ),
    ]
