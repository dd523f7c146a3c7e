"""What ingest nodes call: nginx-rtmp's callbacks and the node's periodic report.

Every URL carries the shared LIVE_INGEST_SECRET and the node's name:
/live/ingest/{secret}/{node}/{callback}. nginx-rtmp treats 2xx as allow and anything
else as refuse, and refuses too when this server cannot be reached (fail closed).
The secret never appears in a log line (foundation.logging redacts it).
"""

from __future__ import annotations

import hmac
import json
import logging
import re

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from foundation import metrics

from . import services

log = logging.getLogger("kino.live")
_NODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The fields nginx-rtmp itself sends; anything else came from the publish URL's query.
_NGINX_FIELDS = {"app", "name", "addr", "clientid", "call", "tcurl", "flashver", "swfurl",
                 "pageurl", "type", "epoch", "path", "recorder", "flashVer", "swfUrl",
                 "tcUrl", "pageUrl"}


def _authorised(secret: str, node: str) -> bool:
    return (hmac.compare_digest(secret.encode(), settings.LIVE_INGEST_SECRET.encode())
            and bool(_NODE_RE.match(node)))


def _refuse(reason: str) -> HttpResponse:
    return HttpResponse(reason + "\n", status=403, content_type="text/plain")


@csrf_exempt
@require_POST
def callback(request, secret: str, node: str, event: str):
    if not _authorised(secret, node):
        return _refuse("not an ingest node of this platform")
    form = request.POST
    name, client_id = form.get("name", ""), form.get("clientid", "")
    if event == "on_publish":
        args = {k: v for k, v in form.items() if k not in _NGINX_FIELDS}
        try:
            session = services.ingest_publish(node=node, app=form.get("app", ""), name=name,
                                              client_id=client_id, address=form.get("addr", ""),
                                              args=args)
        except services.Refused as exc:
            metrics.LIVE_REFUSED.inc()
            log.info("publish to %s/%s from %s refused: %s", form.get("app", ""), name[:40],
                     form.get("addr", ""), exc)
            return _refuse(str(exc))
        log.info("publish to %s/%s from %s allowed (%s)", form.get("app"), name,
                 form.get("addr", ""), session.id)
        return HttpResponse("ok\n", content_type="text/plain")
    if event == "on_publish_done":
        services.ingest_publish_done(node=node, client_id=client_id, name=name)
        return HttpResponse("ok\n", content_type="text/plain")
    if event == "on_record_done":
        services.ingest_record_done(node=node, client_id=client_id, name=name,
                                    path=form.get("path", ""))
        return HttpResponse("ok\n", content_type="text/plain")
    if event == "on_update":
        if services.ingest_update(node=node, client_id=client_id, name=name):
            return HttpResponse("ok\n", content_type="text/plain")
        return _refuse("the stream may no longer publish")
    return HttpResponse(status=404)


@csrf_exempt
@require_POST
def report(request, secret: str, node: str):
    if not _authorised(secret, node):
        return _refuse("not an ingest node of this platform")
    try:
        body = json.loads(request.body or b"{}")
        streams, relays = list(body.get("streams", [])), list(body.get("relays", []))
        recordings = list(body.get("recordings", []))
        final, hls_url = bool(body.get("final")), str(body.get("hls_url") or "")[:255]
        if not all(isinstance(item, dict) for item in [*streams, *relays, *recordings]):
            raise TypeError
    except (ValueError, AttributeError, TypeError):
        return HttpResponse("a report is a JSON object whose streams, relays and recordings "
                            "are lists of objects\n", status=400, content_type="text/plain")
    return JsonResponse(services.ingest_report(node=node, streams=streams, relays=relays,
                                                recordings=recordings, final=final,
                                                hls_url=hls_url))
