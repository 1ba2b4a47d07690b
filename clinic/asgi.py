import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
application = get_asgi_application()

from clinic.startup import require_secret_key  # noqa: E402  (needs the settings loaded)

require_secret_key()
