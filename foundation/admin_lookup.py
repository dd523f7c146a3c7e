"""Find by ID: paste any public ID (or a URL that holds one) and land on its admin page.

The prefix says which kind of object it is; the model is the registered one whose
primary key is made with that prefix, so apps that add id-bearing models later are
found without this module knowing about them.
"""

from __future__ import annotations

import functools
import re

from django import forms
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from .admin import change_url, changelist_url
from .ids import kind_of, new_id

_ANY_ID = re.compile(r"[a-z]{3}_[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])")


class FindForm(forms.Form):
    id = forms.CharField(label="ID", max_length=2000, strip=True,
                         widget=forms.TextInput(attrs={"size": 40, "autofocus": True,
                                                       "placeholder": "ast_…, upl_…, pbk_…"}))


def id_prefix(model: type[models.Model]) -> str | None:
    default = model._meta.pk.default
    if isinstance(default, functools.partial) and default.func is new_id and default.args:
        return default.args[0]
    return None


def model_for(public_id: str) -> type[models.Model] | None:
    prefix = public_id.split("_", 1)[0]
    for model in apps.get_models():
        if id_prefix(model) == prefix and admin.site.is_registered(model):
            return model
    return None


def extract_id(raw: str) -> str:
    """The ID in what was pasted: the ID itself, or one inside a URL or a storage path."""
    raw = raw.strip().lower()
    if kind_of(raw):
        return raw
    match = _ANY_ID.search(raw)
    return match.group(0) if match else raw


def find_by_id(request: HttpRequest) -> HttpResponse:
    form = FindForm(request.GET or None)
    problem = ""
    touched: list[tuple[str, int, str, list]] | None = None
    if form.is_valid():
        raw = form.cleaned_data["id"].strip()
        public_id = extract_id(raw)
        kind = kind_of(public_id)
        model = model_for(public_id) if kind else None
        if kind is None and _REQUEST_ID.match(raw):
            touched = what_a_request_did(request, raw)
            if not any(count for _, count, _, _ in touched):
                problem = (f"Nothing on record was done by request {raw}: it changed "
                           "nothing, or its records are older than they are kept."
                           if raw.startswith("req_") else
                           "That is not a Kino ID (ast_ followed by 26 letters and "
                           "digits), nor a request id that left any record.")
        elif kind is None:
            problem = "That is not a Kino ID. IDs look like ast_ followed by 26 letters and digits."
        elif model is None:
            problem = f"The admin has no page for {kind.replace('_', ' ')}s."
        elif not admin.site.get_model_admin(model).has_view_or_change_permission(request):
            problem = "You may not view that kind of object."
        elif not model._default_manager.filter(pk=public_id).exists():
            problem = f"No object with that ID ({public_id})."
        else:
            return redirect(change_url(model(pk=public_id)))
    return TemplateResponse(request, "admin/find_by_id.html", {
        **admin.site.each_context(request),
        "title": "Find by ID",
        "form": form,
        "problem": problem,
        "touched": touched,
        "request_id": form.cleaned_data["id"].strip() if touched else "",
    })


# What the API and the admin answer in X-Request-Id: req_ and 24 hex digits, or the
# caller's own id when it sent a safe one (foundation/context.py).
_REQUEST_ID = re.compile(r"^(req_[0-9a-f]{24}|[A-Za-z0-9._:\-]{8,128})$")


SHOWN_PER_KIND = 10


def what_a_request_did(request: HttpRequest, request_id: str) -> list[tuple[str, int, str, list]]:
    """(kind of record, how many, the admin list of them, the first few as (label, page))
    for every registered model that keeps the request id of its writes and that the user
    may view: audit entries, events, processing jobs, and any a later app adds."""
    found = []
    for model in apps.get_models():
        fields = {field.name for field in model._meta.get_fields()}
        if "request_id" not in fields or not admin.site.is_registered(model):
            continue
        if not admin.site.get_model_admin(model).has_view_or_change_permission(request):
            continue
        records = model._default_manager.filter(request_id=request_id)
        count = records.count()
        shown = [(str(obj), change_url(obj)) for obj in records.order_by("pk")[:SHOWN_PER_KIND]]
        name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
        found.append((str(name), count,
                      changelist_url(model, request_id=request_id), shown))
    return sorted(found, key=lambda kind: kind[0])


urlpatterns = [
    path("", admin.site.admin_view(find_by_id), name="admin-find"),
]
