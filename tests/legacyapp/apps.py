from django.apps import AppConfig


class LegacyappConfig(AppConfig):
    name = "legacyapp"
    default_auto_field = "django.db.models.AutoField"
