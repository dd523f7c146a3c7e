"""The nginx delivery config rendered from settings, and its agreement with the platform."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time

import pytest
from django.core.management import CommandError, call_command

from playback import path_tokens
from playback.views import _FILE_RE, _PREFIX_RE

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
PBK = "pbk_" + "0123456789abcdefghjkmnpqrs"
PREFIX = "assets/ast_" + "0" * 26 + "/job_" + "1" * 26 + "-3"


def render(*args: str) -> str:
    out = io.StringIO()
    call_command("render_nginx_delivery", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def child_location(config: str) -> re.Pattern:
    pattern = re.search(r'location ~ "(\^/v/\(\?<pbk>[^"]+)"', config).group(1)
    return re.compile(pattern.replace("(?<", "(?P<"))


def test_the_secret_and_media_root_come_from_settings(settings):
    settings.PLAYBACK_PATH_SECRET = "a-secret-from-settings"
    config = render("--listen", "127.0.0.1:9080", "--upstream", "10.0.0.5:8000")
    assert 'secure_link_md5 "$exp$pbk/$prefix a-secret-from-settings";' in config
    assert f'alias "{settings.MEDIA_ROOT.resolve()}/$prefix/$rest";' in config
    assert "listen 127.0.0.1:9080;" in config and "server 10.0.0.5:8000;" in config
    assert "{{" not in config and "daemon off" not in config


def test_the_output_file_is_private(tmp_path):
    target = tmp_path / "kino.conf"
    target.write_text("old")
    target.chmod(0o644)
    call_command("render_nginx_delivery", "--output", str(target), stderr=io.StringIO())
    assert target.stat().st_mode & 0o777 == 0o600
    assert "secure_link_md5" in target.read_text()


def test_every_child_url_the_platform_hands_out_matches_the_nginx_location(settings):
    location = child_location(render())
    base = path_tokens.child_base(playback_id=PBK, prefix=PREFIX, expires=int(time.time()) + 3600)
    assert _PREFIX_RE.match(PREFIX)
    for rendition, name in (("1080p", "index.m3u8"), ("audio", "init.mp4"), ("360p", "init_2.mp4"),
                            ("240p", "seg_00000.m4s"), ("720p", "seg_123456789.m4s")):
        assert _FILE_RE.match(name)
        found = location.match(f"{base}/{rendition}/{name}")
        assert found, name
        assert found["pbk"] == PBK and found["prefix"] == PREFIX
        assert found["rest"] == f"{rendition}/{name}"
        # nginx's secure_link_md5 input is "$exp$pbk/$prefix <secret>": the platform's.
        assert path_tokens.valid(playback_id=found["pbk"], prefix=found["prefix"],
                                 expires=found["exp"], sig=found["sig"])
    for bad in ("360p/..", "360p/.m4s", "360p/a/seg_00000.m4s", "360p/poster.jpg", "../x.m4s",
                "360p/seg_00000.m4s/", "UPPER/seg_00000.m4s"):
        assert not location.match(f"{base}/{bad}"), bad


@pytest.mark.parametrize("secret", ['quote"d', "dollar$var", "back\\slash", "new\nline", ""])
def test_a_secret_nginx_would_misread_is_refused(settings, secret):
    settings.PLAYBACK_PATH_SECRET = secret
    with pytest.raises(CommandError, match="PLAYBACK_PATH_SECRET"):
        render()


@pytest.mark.parametrize("option", [("--listen", "8080; include /etc/passwd"),
                                    ("--upstream", "host:80 }"), ("--server-name", "a;b")])
def test_addresses_and_names_are_checked(option):
    with pytest.raises(CommandError, match=option[0]):
        render(*option)


def s3_storage(settings, **options):
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "kino-media", "location": "prod", **options}}}


def test_from_a_bucket_nginx_proxies_to_it_through_a_cache_after_the_token(settings):
    s3_storage(settings, endpoint_url="http://10.0.0.7:9000")

    text = render()

    assert "upstream kino_bucket {\n    server 10.0.0.7:9000;" in text
    assert "proxy_pass http://kino_bucket/kino-media/prod/$prefix/$rest;" in text
    assert text.count("proxy_cache kino_media;") == 2  # renditions and text tracks
    assert 'proxy_set_header Authorization "";' in text
    assert text.index("secure_link $sig,$exp;") < text.index("proxy_pass http://kino_bucket")
    assert "alias" not in text.split("/_kino/downloads/")[0].split("Child playlists")[1]


def test_from_aws_the_bucket_is_its_virtual_host_over_tls(settings):
    s3_storage(settings, region_name="eu-west-1")

    text = render()

    assert "server kino-media.s3.eu-west-1.amazonaws.com:443;" in text
    assert "proxy_pass https://kino_bucket/prod/$prefix/$rest;" in text
    assert "proxy_ssl_name kino-media.s3.eu-west-1.amazonaws.com;" in text


def test_an_endpoint_nginx_cannot_use_is_refused(settings):
    s3_storage(settings, endpoint_url="ftp://10.0.0.7")
    with pytest.raises(CommandError, match="not an http"):
        render()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
@pytest.mark.parametrize("storage", ["local", "s3"])
def test_nginx_accepts_the_standalone_config(tmp_path, settings, storage):
    if storage == "s3":
        s3_storage(settings, endpoint_url="http://127.0.0.1:9000")
    conf = tmp_path / "nginx.conf"
    call_command("render_nginx_delivery", "--standalone", "--listen", "127.0.0.1:9",
                 "--output", str(conf), stderr=io.StringIO())
    checked = subprocess.run([NGINX, "-t", "-q", "-c", str(conf), "-p", f"{tmp_path}/",
                              "-e", "error.log"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr + (tmp_path / "error.log").read_text()
