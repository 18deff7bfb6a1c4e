from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="Team",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                (
                    "owner",
                    models.ForeignKey(null=True, on_delete=models.SET_NULL, to=settings.AUTH_USER_MODEL),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Player",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("fullname", models.CharField(blank=True, max_length=200)),
                ("nick", models.CharField(blank=True, max_length=50)),
                ("born", models.IntegerField(null=True)),
                ("joined", models.DateTimeField(null=True)),
                ("team", models.ForeignKey(null=True, on_delete=models.SET_NULL, to="migrapp.team")),
            ],
        ),
    ]
