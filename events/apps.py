from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from events import receivers

        # Search documents and cache tags follow every catalogue change, after commit.
        receivers.connect()
