from django.apps import AppConfig


class LibConfig(AppConfig):
    """The shared kernel: base models, errors, API plumbing, health, logging. Depends on Django/DRF only."""

    name = "grasshopper.lib"
    label = "grasshopper_lib"
    verbose_name = "Grasshopper kernel"

    def ready(self) -> None:
        from grasshopper.lib import logging_signals

        logging_signals.connect()
