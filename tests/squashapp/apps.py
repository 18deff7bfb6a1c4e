from django.apps import AppConfig


class SquashappConfig(AppConfig):
    name = "squashapp"
    default_auto_field = "django.db.models.AutoField"
