from django.apps import AppConfig


class ClinicConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic"
    verbose_name = "Clinics and access"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from clinic import sessions, two_factor  # noqa: F401  their sign-in receivers
        from clinic.models import Membership

        # Who may see which clinic's patients is itself worth an audit trail.
        auditlog.register(Membership)
