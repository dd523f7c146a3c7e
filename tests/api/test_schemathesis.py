"""Generated requests to every operation of the served schema get the answers it promises.

Schemathesis reads /api/v1/schema/ and sends each operation its examples and a few
generated requests, valid and invalid, in-process through the WSGI application with an
all-scopes key. Every answer must be no server error, with a status code the operation
declares explicitly (not only through `default`), and a content type, headers and body
that match what is declared for that status.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    skips_on_unexpected_http_status,
    status_code_conformance,
)

from config.wsgi import application

from .openapi_support import PathObjects, keep_requests_on_this_machine

pytestmark = pytest.mark.django_db

# Generated requests per operation, on top of its examples: the suite's budget, not a
# search for rare bugs (44 operations, two cores). Derandomized: the same requests every
# run, so the suite never flakes and a failure replays as it was.
EXAMPLES_PER_OPERATION = 12


class UndeclaredStatus(Failure):
    pass


@skips_on_unexpected_http_status  # e.g. a TRACE probe: no operation of ours to judge
def status_declared_explicitly(ctx, response, case):
    """`default` covers the unforeseen 5xx; every status we mean to send is named."""
    declared = case.operation.responses.status_codes
    if str(response.status_code) not in declared:
        raise UndeclaredStatus(operation=case.operation.label, title="Status not declared",
                               message=f"{response.status_code} is answered but only "
                                       f"{sorted(declared)} are declared.")
    return True


CHECKS = [not_a_server_error, status_declared_explicitly, status_code_conformance,
          content_type_conformance, response_headers_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _in_process_api(db, settings, monkeypatch):
    # A request to the WSGI application ends by closing connections it finds inside a
    # transaction: here, the test's own. Django's test client avoids it for its requests.
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    # The in-process client calls the application "localhost".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    keep_requests_on_this_machine(monkeypatch, settings)
    # A few hundred requests a second from one key are this test, not abuse; and bad keys
    # that other tests sent from this address (the cache may be shared) are not ours.
    for name in dir(django_settings):
        if name.startswith("API_RATE_LIMIT"):
            setattr(settings, name, "1000000/second")
    if hasattr(django_settings, "CREDENTIAL_FAILURE_LIMIT"):
        settings.CREDENTIAL_FAILURE_LIMIT = 1_000_000


CONFIG = schemathesis.Config.from_dict({
    "cache": {"enabled": False},
    "generation": {"mode": "all", "with-security-parameters": False},
    "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True},
               "coverage": {"enabled": False}, "stateful": {"enabled": False}},
})
# Read when the module loads (one test per operation), in-process: nothing listens.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=CONFIG)


@pytest.fixture
def secret(scopes, environment, make_key) -> str:
    _, secret = make_key(environment, scopes)
    return secret


@pytest.fixture
def path_ids(owner):
    """Real objects for the path parameters: made on an operation's first request, used
    by every other second one, so its requests reach past the lookup (the others keep
    their generated ids and meet 404)."""
    objects, made, requests = PathObjects(owner), {}, itertools.count(1)

    def ids_for(case) -> dict[str, str]:
        if not case.path_parameters or next(requests) % 2 == 0:
            return {}
        if not made:
            made.update(objects.ids_for(case.operation.path))
        return made

    return ids_for


@schema.parametrize()
# Also what gives each operation its own test id: pytest 9 builds an item's id from its
# function name and parametrization, and would drop the "[GET /api/v1/assets]" part.
@pytest.mark.parametrize("scopes", ["all"])
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                     database=None, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, secret, path_ids):
    case.path_parameters = {**(case.path_parameters or {}), **path_ids(case)}

    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
