from django.apps import AppConfig


class CompositeappConfig(AppConfig):
    name = "compositeapp"
    default_auto_field = "django.db.models.AutoField"
