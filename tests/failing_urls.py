"""A URL whose view fails, for the tests of the error page and of its log."""
from django.urls import path

from config.urls import handler500  # noqa: F401  (the project's own error page)


def fail(request):
    raise RuntimeError("a failure the tests provoke")


urlpatterns = [path("fail/", fail)]
