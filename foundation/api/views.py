"""The base of every API view: scopes, problem errors, budgets, idempotent POSTs, and
ETags on reads."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from rest_framework.generics import GenericAPIView

from foundation.context import Actor

from . import conditional, fast_reads, idempotency, throttling
from .schema import ApiSchema


class ApiView(GenericAPIView):
    required_scopes: dict[str, str] = {}
    # Response fields that hold a secret shown once (a private key, a stream key): an
    # idempotent replay carries null in their place, and they are never stored.
    one_time_secrets: tuple[str, ...] = ()
    schema = ApiSchema()

    def prepare(self, request) -> None:
        """Checks that need network or disk I/O, run before the request's transaction
        opens (a POST with Idempotency-Key runs its handler inside one)."""

    @property
    def environment_id(self) -> str:
        return self.request.auth.environment_id

    @property
    def actor(self) -> Actor:
        return self.request.auth.actor

    # A view whose GET answers from built documents defines both (foundation/api/fast_reads.py).
    fast_read = None

    def fast_read_keys(self, **kwargs) -> list[str]:
        return []

    def dispatch(self, request, *args, **kwargs):
        if self.fast_read is not None and (answer := fast_reads.serve(self, request, kwargs)):
            return answer
        # DRF's dispatch, with the handler run inside an idempotency scope for POST.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        record = None
        try:
            self.initial(request, *args, **kwargs)
            handler = getattr(self, request.method.lower(), None)
            if request.method.lower() not in self.http_method_names or handler is None:
                handler = self.http_method_not_allowed
            key = request.headers.get("Idempotency-Key")
            if request.method == "POST" and key is not None and request.auth is not None:
                claimed = idempotency.claim(
                    scope=request.auth.environment_id,
                    key=key,
                    fingerprint=idempotency.fingerprint(
                        request.method, request.path, request.body,
                        request.content_type or "",
                    ),
                )
                if isinstance(claimed, dict):
                    response = HttpResponse(claimed["body"], status=claimed["status"],
                                            content_type=claimed["content_type"] or None,
                                            headers=claimed["headers"])
                    response["Idempotent-Replayed"] = "true"
                    self.response = self.finalize_response(request, response, *args, **kwargs)
                    return self.response
                record = claimed
                self.prepare(request)
                with transaction.atomic():
                    response = self._rendered(request, handler(request, *args, **kwargs))
                    idempotency.complete(record, response, secrets=self.one_time_secrets)
                    record = None
            else:
                self.prepare(request)
                response = handler(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - DRF's contract: every error becomes a response
            response = self.handle_exception(exc)
            if record is not None:
                if response.status_code < 500:
                    idempotency.complete(record, self._rendered(request, response),
                                         secrets=self.one_time_secrets)
                else:
                    idempotency.release(record)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def throttled(self, request, wait):
        raise throttling.exceeded(request, wait)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        throttling.add_headers(response, request)
        return conditional.answer(request, response)

    def _rendered(self, request, response):
        response = self.finalize_response(request, response, *self.args, **self.kwargs)
        return response.render() if hasattr(response, "render") else response
