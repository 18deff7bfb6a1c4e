from django.apps import AppConfig


class ShadowappConfig(AppConfig):
    name = "shadowapp"
    default_auto_field = "django.db.models.AutoField"
