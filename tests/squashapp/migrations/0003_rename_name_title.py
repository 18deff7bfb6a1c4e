from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("squashapp", "0002_item_size")]

    operations = [
        migrations.RenameField(model_name="item", old_name="name", new_name="title"),
    ]
