from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run`. Lives in the composition root: it may use every app's services."""

    name = "grasshopper.demo"
    label = "grasshopper_demo"
    verbose_name = "Demo data"
