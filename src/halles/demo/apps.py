from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "halles.demo"
    label = "demo"
    verbose_name = "Demo"
