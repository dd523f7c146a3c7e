"""Settings for bench/api.py: the platform's own settings, and a URLconf that adds a bare
Django JSON view (/bench/bare) beside the platform's URLs.

The bare view is the baseline the API is measured against: the same gunicorn, settings,
middleware and URL resolution, no DRF, no database, no cache. This module is both the
settings module (DJANGO_SETTINGS_MODULE=bench.api_site) and the root URLconf; its
`urlpatterns` are built when Django first asks for them (a settings module cannot import
the platform's URLs while settings load). Run with the project root on PYTHONPATH.
"""

from importlib import import_module

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_site"

BARE_BODY = {"id": "bench", "status": "ready", "duration": 4.0,
             "playback_ids": [{"id": "pbk_bench", "policy": "public"}]}


def bare(request):
    """The baseline: a plain Django view that answers a small dict."""
    from django.http import JsonResponse

    return JsonResponse(BARE_BODY)


def __getattr__(name: str):
    if name == "urlpatterns":
        from django.urls import include, path

        patterns = [path("bench/bare", bare, name="bench-bare"), path("", include("config.urls"))]
        globals()["urlpatterns"] = patterns
        return patterns
    if name.startswith("handler"):  # the platform's error views (handler404, handler500)
        return getattr(import_module("config.urls"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
