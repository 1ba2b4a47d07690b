from django.apps import AppConfig


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"
    verbose_name = "CLASI scoring"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from scoring.models import Assessment, FlagAcknowledgement

        auditlog.register(Assessment)
        auditlog.register(FlagAcknowledgement)
