from django.apps import AppConfig


class MigrappConfig(AppConfig):
    name = "migrapp"
    default_auto_field = "django.db.models.AutoField"
