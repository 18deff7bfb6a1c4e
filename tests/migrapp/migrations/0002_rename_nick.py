from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("migrapp", "0001_initial")]

    operations = [
        migrations.RenameField(model_name="player", old_name="nick", new_name="nickname"),
    ]
