from django.apps import AppConfig


class PyserializerConfig(AppConfig):
    name = "pyserializer"
    verbose_name = "Python dumps"
