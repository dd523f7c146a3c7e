"""Usage metering: what each environment used, day by day, in the units video platforms
bill by (GET /api/v1/usage, and the admin's usage page).

Every figure comes from the platform's own records of what it did, never an estimate:

- processing seconds: each piece of processing work (an encode attempt, a clip, the
  downloads, a text track, a live recording's join) measured by the worker that ran it
  and recorded once under a key of that work (services.processing_record);
- storage bytes: a ledger of the files the platform writes to media storage, each
  entered when stored and removed when deleted (services.storage_stored/forget), kept
  as each day's change so any day's end can be summed;
- delivery bytes: the body bytes of viewer responses, from the platform's delivery log
  and nginx's access log (delivery_log.py, ingest.py);
- live seconds: publish sessions, from connect to disconnect; recording seconds: the
  length of each live run's recording once it is processed.
"""
