"""An object's events are numbered 1, 2, 3, ... and no number is given twice, even to
changes of one object committed at the same moment by two processes."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from webhooks.models import Event
from webhooks.services import event_emit


def _emit(environment, object_id: str) -> Event:
    return event_emit(environment_id=environment.id, type="video.asset.updated",
                      object_type="asset", object_id=object_id, data={"id": object_id})


@pytest.mark.django_db
def test_the_database_refuses_a_repeated_sequence_number(environment):
    with transaction.atomic():
        first = _emit(environment, "ast_one")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(environment=environment, type=first.type, object_type="asset",
                             object_id="ast_one", sequence=first.sequence, data={})


@pytest.mark.django_db(transaction=True)
def test_two_changes_committed_together_get_consecutive_numbers(environment):
    # The first transaction numbers its event and holds it uncommitted while the second
    # numbers its own: the second must not take the same number.
    numbered = threading.Event()
    done = threading.Event()
    results: list[int] = []
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                results.append(_emit(environment, "ast_race").sequence)
                numbered.set()
                done.wait(5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            numbered.set()
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    numbered.wait(5)
    second = threading.Thread(target=_second, args=(environment, results, errors))
    second.start()
    # Let the second reach its insert (PostgreSQL blocks it on the first's uncommitted
    # number; SQLite on its one writer), then commit the first.
    threading.Timer(0.5, done.set).start()
    second.join(10)
    done.set()
    thread.join(10)

    assert errors == []
    assert sorted(results) == [1, 2]
    assert sorted(Event.objects.filter(object_id="ast_race").values_list("sequence", flat=True)) == [1, 2]


def _second(environment, results, errors):
    try:
        with transaction.atomic():
            results.append(_emit(environment, "ast_race").sequence)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        connection.close()
