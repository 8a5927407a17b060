from __future__ import annotations

from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "assessment"
    verbose_name = "Assessment"

    def ready(self) -> None:
        # Content packs live in delivery, which cannot import this app: it reads a unit's
        # `tasks` through the section registered here (see delivery.packs.sections).
        from assessment.packs import TASKS
        from delivery.packs.sections import register_section

        register_section(TASKS)

        # Demo data of this app, after delivery's (`manage.py seed_demo`).
        from assessment import demo
        from delivery.signals import demo_seeded

        demo_seeded.connect(demo.seed, dispatch_uid="assessment.demo.seed")

        # A changed record's PDF is rendered in the background, for exports to pack.
        from assessment.records.changes import on_record_changed
        from assessment.signals import record_changed

        record_changed.connect(on_record_changed, dispatch_uid="assessment.records.changes")

        # Withdrawals and transfers (delivery's enrolment) go into the audit trail.
        from assessment.audit.receivers import record_enrolment_ended
        from delivery.signals import enrolment_ended

        enrolment_ended.connect(record_enrolment_ended, dispatch_uid="assessment.audit.enrolment")

        # A learner enrolling with units they already hold is credited with them (issue 16).
        from assessment.marking.credit import credit_on_enrolment
        from delivery.signals import learner_enrolled

        learner_enrolled.connect(credit_on_enrolment, dispatch_uid="assessment.marking.credit")
