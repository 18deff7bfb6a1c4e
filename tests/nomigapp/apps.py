from django.apps import AppConfig


class NomigappConfig(AppConfig):
    name = "nomigapp"
    default_auto_field = "django.db.models.AutoField"
