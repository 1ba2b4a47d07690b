"""The app's URLs plus one view that fails, to see the 500 page as a user would."""

from django.urls import path

from clinic.urls import urlpatterns as app_urls


def boom(request):
    raise RuntimeError("a failure no user should read")


urlpatterns = [*app_urls, path("boom/", boom)]
