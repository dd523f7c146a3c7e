"""The admin login's two guards, both answered with the login page and a message (429).

- Per address, across usernames: the failed-credentials refusal
  (foundation/credential_failures.py), checked before the password is.
- Per address and username: django-axes locks after ADMIN_LOGIN_FAILURE_LIMIT wrong
  passwords for ADMIN_LOGIN_COOLOFF_MINUTES; `manage.py axes_reset` lifts every lock.
  Locking the pair, not the username alone, keeps a guesser elsewhere from locking
  the real operator out.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from foundation import credential_failures


def login(request, extra_context=None) -> HttpResponse:
    """admin.site.login, refused to an address with too many failed credentials."""
    if request.method == "POST" and (refused := credential_failures.refusal(request)) is not None:
        return _login_page(request, retry_after=refused.retry_after, message=(
            "Too many failed sign-ins and credentials from your address. "
            f"Try again in {_wait(refused.retry_after)}."))
    return admin.site.login(request, extra_context)


def locked_out(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a locked username at an address is shown."""
    cool_off = get_cool_off(request)
    seconds = cool_off.total_seconds() if cool_off else 0
    return _login_page(request, retry_after=seconds or None, message=(
        f"This account is locked after {settings.AXES_FAILURE_LIMIT} wrong passwords from "
        f"your address. Try again in {_wait(seconds)}, or ask an operator to unlock it."
        if seconds else
        f"This account is locked after {settings.AXES_FAILURE_LIMIT} wrong passwords from "
        "your address. Ask an operator to unlock it."))


def count_failure(sender, credentials, request=None, **kwargs) -> None:
    """Django's user_login_failed: a wrong password counts against the address as well."""
    if request is not None:
        credential_failures.record(request)


def _login_page(request, *, message: str, retry_after: float | None) -> HttpResponse:
    form = AdminAuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    next_url = (request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
                or reverse("admin:index"))
    request.current_app = admin.site.name
    response = render(request, "admin/login.html", {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": form,
        REDIRECT_FIELD_NAME: next_url,
        "refusal": message,
    }, status=429)
    if retry_after:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _wait(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
