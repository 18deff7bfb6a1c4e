from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "wagtailsite.home"
    label = "home"
    default_auto_field = "django.db.models.AutoField"
