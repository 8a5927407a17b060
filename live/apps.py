from __future__ import annotations

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live tutorials"

    def ready(self) -> None:
        # Auditors' records (assessment's) show attendance: a section registered in the bottom
        # layer, since assessment may not import live.
        from delivery.records import register_section
        from delivery.signals import demo_seeded
        from live import demo
        from live.records import SECTION

        register_section(SECTION)
        demo_seeded.connect(demo.seed, dispatch_uid="live.demo.seed")
