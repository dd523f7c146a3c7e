"""Everything that changes a live stream, one module per job.

A stream is `idle` until an encoder publishes with its key and the first playlist is
written (`active`); it stays `active` for `reconnect_window` seconds after the encoder
leaves, so a reconnect continues the same run (and the same recording), then goes
back to `idle`. `disabled` refuses publishing. Each change writes an audit entry and an
event in its transaction, and tells the operator dashboard after commit.

- keys: stream keys, relay tokens and SRT ports
- records: the audit entry and the event every change leaves
- streams: the stream's states (every transition of a stream is here) and the API's
  operations on streams and their playback IDs
- simulcast: restream targets and their states
- runs: a run's recording asset, started on the first publish, handed on at the end
- callbacks: nginx-rtmp's callbacks (publish, publish done, record done, update)
- reports: the ingest nodes' reports (health samples, relays) and what each node
  should run
"""

from .callbacks import (
    Refused,
    ingest_publish,
    ingest_publish_done,
    ingest_record_done,
    ingest_update,
)
from .keys import relay_token, secret_hash, stream_key
from .reports import desired_state, health_prune, ingest_report, silent_nodes_sweep
from .simulcast import check_simulcast_url, simulcast_target_create, simulcast_target_delete
from .streams import (
    live_playback_id_create,
    live_playback_id_delete,
    live_stream_complete,
    live_stream_create,
    live_stream_delete,
    live_stream_disable,
    live_stream_enable,
    live_stream_go_active,
    live_stream_reset_key,
    live_stream_update,
    live_streams_sweep,
)

__all__ = [
    "Refused", "check_simulcast_url", "desired_state", "health_prune", "ingest_publish",
    "silent_nodes_sweep",
    "ingest_publish_done", "ingest_record_done", "ingest_report", "ingest_update",
    "live_playback_id_create", "live_playback_id_delete", "live_stream_complete",
    "live_stream_create", "live_stream_delete", "live_stream_disable", "live_stream_enable",
    "live_stream_go_active", "live_stream_reset_key", "live_stream_update",
    "live_streams_sweep", "relay_token", "secret_hash", "simulcast_target_create",
    "simulcast_target_delete", "stream_key",
]
