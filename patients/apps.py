from django.apps import AppConfig


class PatientsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "patients"
    verbose_name = "Patients and treatment"

    def ready(self) -> None:
        from patients import audit  # noqa: F401  registers the models with auditlog
