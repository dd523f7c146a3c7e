"""The ingest node's pure parts: reading nginx-rtmp's statistics and playlists, the nginx
configuration it writes, and what it keeps out of relay errors."""

from __future__ import annotations

import re

import pytest

from live.ingest import config, relays
from live.ingest.sampler import StreamStat, parse_stat, playlist_segments

STREAM = "lvs_01jq7m2x9k4v8t6r5p3n1b0c2d"
OTHER = "lvs_01jq7m3a7c5e2g4j6l8n0q1s3u"

# What `location /stat { rtmp_stat all; }` answers while one encoder publishes to `live`
# (with the simulcast relay playing it from loopback), one to `live-low` before its
# metadata arrived, and a player waits on a stream nobody publishes.
RTMP_STAT = f"""<?xml version="1.0" encoding="utf-8" ?>
<?xml-stylesheet type="text/xsl" href="stat.xsl" ?>
<rtmp>
<nginx_version>1.24.0</nginx_version>
<nginx_rtmp_version>1.1.4</nginx_rtmp_version>
<compiler>gcc 13.2.0 (Ubuntu 13.2.0-23ubuntu4) </compiler>
<built>Apr 10 2024 08:31:22</built>
<pid>48211</pid>
<uptime>97</uptime>
<naccepted>4</naccepted>
<bw_in>2621440</bw_in>
<bytes_in>31457280</bytes_in>
<bw_out>2621440</bw_out>
<bytes_out>29360128</bytes_out>
<server>
<application>
<name>live</name>
<live>
<stream>
<name>{STREAM}</name>
<time>95312</time>
<bw_in>2543616</bw_in>
<bytes_in>30146560</bytes_in>
<bw_out>2543616</bw_out>
<bytes_out>29360128</bytes_out>
<bw_audio>131072</bw_audio>
<bw_video>2412544</bw_video>
<client>
<id>9</id>
<address>127.0.0.1</address>
<time>80122</time>
<flashver>LNX 9,0,124,2</flashver>
<dropped>0</dropped>
<avsync>-4</avsync>
<timestamp>95301</timestamp>
<active/>
</client>
<client>
<id>7</id>
<address>198.51.100.7</address>
<time>95310</time>
<flashver>FMLE/3.0 (compatible; FMSc/1.0)</flashver>
<swfurl>rtmp://live.example.com:1935/live</swfurl>
<dropped>0</dropped>
<avsync>-3</avsync>
<timestamp>95301</timestamp>
<publishing/>
<active/>
</client>
<meta>
<video>
<width>1280</width>
<height>720</height>
<frame_rate>29.97</frame_rate>
<codec>H264</codec>
<profile>High</profile>
<compat>0</compat>
<level>3.1</level>
</video>
<audio>
<codec>AAC</codec>
<profile>LC</profile>
<channels>2</channels>
<sample_rate>48000</sample_rate>
</audio>
</meta>
<nclients>2</nclients>
<publishing/>
<active/>
</stream>
<stream>
<name>lvs_01jq7m4waitingforapublisher</name>
<time>3010</time>
<bw_in>0</bw_in>
<bytes_in>0</bytes_in>
<client>
<id>12</id>
<address>127.0.0.1</address>
<time>3010</time>
<flashver>LNX 9,0,124,2</flashver>
<dropped>0</dropped>
<avsync>0</avsync>
<timestamp>0</timestamp>
</client>
<meta/>
<nclients>1</nclients>
</stream>
<nclients>3</nclients>
</live>
</application>
<application>
<name>live-low</name>
<live>
<stream>
<name>{OTHER}</name>
<time>420</time>
<bw_in>0</bw_in>
<bytes_in>4096</bytes_in>
<client>
<id>15</id>
<address>203.0.113.44</address>
<time>420</time>
<flashver>FMLE/3.0 (compatible; Lavf61.7.100)</flashver>
<dropped>0</dropped>
<avsync>0</avsync>
<timestamp>0</timestamp>
<publishing/>
</client>
<nclients>1</nclients>
<publishing/>
</stream>
<nclients>1</nclients>
</live>
</application>
</server>
</rtmp>
"""


# --- parse_stat -----------------------------------------------------------------------------
def test_parse_stat_finds_each_publishing_stream_with_its_publisher_and_metadata():
    stats = parse_stat(RTMP_STAT)

    assert [(s.app, s.name) for s in stats] == [("live", STREAM), ("live-low", OTHER)]
    assert stats[0] == StreamStat(
        app="live", name=STREAM, client_id="7", address="198.51.100.7", bytes_in=30146560,
        time_ms=95312, width=1280, height=720, frame_rate=29.97, video_codec="H264",
        audio_codec="AAC")


def test_parse_stat_leaves_unknown_metadata_empty_until_it_arrives():
    low = parse_stat(RTMP_STAT)[1]

    assert (low.client_id, low.address, low.bytes_in, low.time_ms) == ("15", "203.0.113.44",
                                                                       4096, 420)
    assert (low.width, low.height, low.frame_rate) == (None, None, None)
    assert (low.video_codec, low.audio_codec) == (None, None)


def test_parse_stat_of_an_idle_server_is_empty():
    idle = ("<rtmp><server><application><name>live</name><live><nclients>0</nclients></live>"
            "</application><application><name>live-low</name><live/></application></server>"
            "</rtmp>")

    assert parse_stat(idle) == []


def test_parse_stat_takes_garbage_numbers_as_unknown():
    text = RTMP_STAT.replace("<width>1280</width>", "<width>wide</width>").replace(
        "<bytes_in>30146560</bytes_in>", "<bytes_in></bytes_in>")

    stat = parse_stat(text)[0]

    assert stat.width is None and stat.height == 720
    assert stat.bytes_in == 0


# --- playlist_segments ---------------------------------------------------------------------
NGINX_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:14
#EXT-X-TARGETDURATION:4
#EXT-X-DISCONTINUITY
#EXTINF:4.000,
14.ts
#EXTINF:4.167,
15.ts

#EXTINF:3.2,a title, with a comma
16.ts
"""


def test_playlist_segments_lists_durations_and_names_in_order():
    assert playlist_segments(NGINX_PLAYLIST) == [(4.0, "14.ts"), (4.167, "15.ts"), (3.2, "16.ts")]


@pytest.mark.parametrize("text", ["", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n",
                                  "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n"])
def test_a_playlist_without_complete_segments_has_none(text):
    assert playlist_segments(text) == []


def test_a_segment_with_an_unreadable_duration_is_skipped():
    text = "#EXTM3U\n#EXTINF:soon,\n1.ts\n#EXTINF:1.001,\n2.ts\n"

    assert playlist_segments(text) == [(1.001, "2.ts")]


def test_crlf_line_ends_are_read_too():
    assert playlist_segments("#EXTM3U\r\n#EXTINF:1.0,\r\n0.ts\r\n") == [(1.0, "0.ts")]


# --- config.render -----------------------------------------------------------------------
@pytest.fixture
def rendered(settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    settings.LIVE_INGEST_SECRET = "ingest-secret-0123456789"
    return config.render(platform_url="http://platform.internal:8000/", node="edge-7",
                         rtmp_port=19350, http_port=18080)


def application(text: str, name: str) -> str:
    match = re.search(r"application " + re.escape(name) + r" \{(.*?)\}", text, re.S)
    assert match, f"no application {name}"
    return match.group(1)


def test_the_config_has_both_applications_with_their_fragment_lengths(rendered):
    live, low = application(rendered, "live"), application(rendered, "live-low")

    assert "hls_fragment 4s;" in live
    assert "hls_fragment 1s;" in low
    for app in (live, low):
        assert "hls on;" in app and "hls_nested on;" in app
        assert "record all;" in app and "record_suffix .flv;" in app
        assert "allow play 127.0.0.1;" in app and "deny play all;" in app


def test_every_callback_goes_to_the_platform_with_the_node_and_the_secret(rendered):
    base = "http://platform.internal:8000/live/ingest/ingest-secret-0123456789/edge-7"
    for name in ("live", "live-low"):
        app = application(rendered, name)
        for callback in ("on_publish", "on_publish_done", "on_update", "on_record_done"):
            assert f"{callback} {base}/{callback};" in app, (name, callback)


def test_the_config_writes_under_live_dir_and_listens_where_told(rendered, settings):
    assert f"hls_path {settings.LIVE_DIR / 'hls' / 'live'};" in rendered
    assert f"hls_path {settings.LIVE_DIR / 'hls' / 'live-low'};" in rendered
    assert f"record_path {settings.LIVE_DIR / 'rec'};" in rendered
    assert "listen 19350;" in rendered
    assert "listen 127.0.0.1:18080;" in rendered
    assert "rtmp_stat all;" in rendered


def test_the_config_carries_no_stream_key_and_logs_no_query_args(owner, rendered, settings):
    created = owner.post("/api/v1/live-streams", {}, format="json").json()
    again = config.render(platform_url="http://platform.internal:8000", node="edge-7",
                          rtmp_port=19350, http_port=18080)

    secret = created["stream_key"].split("?key=")[1]
    assert secret not in rendered and secret not in again
    assert created["id"] not in again
    assert "$args" not in rendered.replace("# No $args", "")
    assert "key=" not in rendered


def test_with_a_certificate_rtmps_ends_tls_and_passes_the_encoder_on_over_loopback(
        settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    settings.LIVE_TLS_CERT, settings.LIVE_TLS_KEY = "/etc/kino/ingest.pem", "/etc/kino/ingest.key"
    settings.RTMPS_PORT, settings.RTMPS_LOOPBACK_PORT = 19360, 19361
    with_tls = config.render(platform_url="http://platform.internal:8000", node="edge-7",
                             rtmp_port=19350, http_port=18080)
    settings.LIVE_TLS_CERT = settings.LIVE_TLS_KEY = ""
    without = config.render(platform_url="http://platform.internal:8000", node="edge-7",
                            rtmp_port=19350, http_port=18080)

    stream = with_tls[with_tls.index("stream {"):]
    assert "listen 19360 ssl;" in stream and "ssl_certificate /etc/kino/ingest.pem;" in stream
    assert "proxy_pass 127.0.0.1:19361;" in stream and "proxy_protocol on;" in stream
    # nginx-rtmp takes them on loopback, with the encoder's address, and checks their key
    # like any other's (a unix socket would skip on_publish).
    assert "listen 127.0.0.1:19361 proxy_protocol;" in with_tls
    assert "unix:" not in with_tls
    assert "stream {" not in without and "ngx_stream_module" not in without


# --- relay errors --------------------------------------------------------------------------
def test_a_relay_error_never_carries_the_targets_key():
    spec = {"server": "rtmp://a.rtmp.youtube.com/live2", "key": "abcd-efgh-ijkl-mnop"}
    error = ("[flv @ 0x55] rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop: "
             "Connection refused\nkey abcd-efgh-ijkl-mnop rejected")

    redacted = relays.redacted(spec, error)

    assert "abcd-efgh-ijkl-mnop" not in redacted
    assert "rtmp://a.rtmp.youtube.com/live2/…: Connection refused" in redacted
    assert relays.relay_url(spec) == "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop"
    assert relays.relay_url({"server": "rtmp://x/app/", "key": ""}) == "rtmp://x/app"


def test_a_node_serving_its_own_hls_checks_segment_tokens_and_hides_the_rest(settings):
    settings.LIVE_INGEST_SECRET = "ingest-secret-0123456789"
    settings.PLAYBACK_PATH_SECRET = "path-secret-0123456789"
    viewers = config.render(platform_url="http://platform.internal:8000", node="edge-7",
                            rtmp_port=19350, http_port=18080, hls_port=18081)
    alone = config.render(platform_url="http://platform.internal:8000", node="edge-7",
                          rtmp_port=19350, http_port=18080)

    assert "listen 18081;" in viewers and "18081" not in alone
    server = viewers[viewers.index("listen 18081;"):]
    # Segments: the delivery nginx's check of the platform's path tokens.
    assert 'secure_link_md5 "$exp$pbk/live/$app/$lvs path-secret-0123456789";' in server
    # Playlists: for the platform alone, which ends them and stops deleted playback IDs.
    assert "^/ingest-secret-0123456789/hls/(?<app>live|live-low)/" in server
    assert "rtmp_stat" not in server and "rtmp_control" not in server


def test_only_a_stream_folder_of_a_known_application_is_ever_removed(settings, tmp_path):
    settings.LIVE_DIR = tmp_path / "live"
    where = config.layout()
    where.make_dirs()
    stream = where.hls / "live" / "lvs_0123456789abcdefghjkmnpqrs"
    stream.mkdir()
    (stream / "index.m3u8").write_text("#EXTM3U\n")

    for app, name in [("live", ".."), ("live", "../live-low"), ("other", stream.name),
                      ("live", "")]:
        assert not where.clear_hls(app, name)
    assert where.hls.is_dir() and stream.is_dir()

    assert where.clear_hls("live", stream.name)
    assert not stream.exists() and (where.hls / "live").is_dir()
