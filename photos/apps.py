from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "photos"
    verbose_name = "Clinical photographs"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from photos import audit  # noqa: F401  (registers the models with the audit trail)

        # Pillow's own bomb guard at our limit (it warns above it, refuses above twice
        # it); photos.imaging turns the warning into a refusal too.
        Image.MAX_IMAGE_PIXELS = settings.CLE_PHOTO_LIMITS["max_pixels"]
