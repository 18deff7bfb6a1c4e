from django.apps import AppConfig


class MediaappConfig(AppConfig):
    name = "mediaapp"
    default_auto_field = "django.db.models.AutoField"
