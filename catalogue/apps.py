from __future__ import annotations

from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    """What the provider offers and what learners make of it: the public catalogue, pathways
    to an end-goal credential, and each learner's playlist of skills. It sits above
    credentials, as it shows what each course's credential is and what it stacks into."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "catalogue"
    verbose_name = "Catalogue and pathways"

    def ready(self) -> None:
        from catalogue.pathways.services import on_credential_issued
        from credentials.signals import credential_issued

        credential_issued.connect(
            on_credential_issued, dispatch_uid="catalogue.pathways.on_credential_issued"
        )

        from catalogue.pathways.packs import SECTION
        from delivery.packs.pack_sections import register_pack_section

        register_pack_section(SECTION)
