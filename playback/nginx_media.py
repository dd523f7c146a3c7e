"""Where the rendered nginx delivery config reads media from: MEDIA_ROOT on local
storage, or the bucket on S3 storage (deploy/nginx/delivery-locations.conf.template).

From the bucket, nginx checks the path token first, as it does for local files, then
proxies the object's GET to the bucket through a cache on its own disk: no Python runs
per segment. nginx cannot sign requests, so the bucket must let the delivery machines
read the media without credentials: a bucket policy that allows s3:GetObject from their
addresses (or from a VPC endpoint) only, never from anyone; deploy/README.md shows one.
Downloads are then sent by the platform itself (DOWNLOAD_ACCEL_PREFIX empty), which
reads them from the bucket with its credentials.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError

_TYPES = """map $uri $kino_media_type {
    ~\\.m3u8$ application/vnd.apple.mpegurl;
    ~\\.m4s$  video/iso.segment;
    ~\\.mp4$  video/mp4;
    ~\\.vtt$  "text/vtt; charset=utf-8";
    default  application/octet-stream;
}
# Media playlists are read from the bucket each time, never from the cache: one still
# being encoded grows segment by segment (they are a few hundred bytes).
map $uri $kino_playlist {
    ~\\.m3u8$ 1;
    default  "";
}
"""


def media_values(*, media_root: str, standalone: bool) -> dict[str, str]:
    if settings.STORAGE_BACKEND == "local":
        return {"MEDIA_HTTP": "", "MEDIA_FROM_BUCKET": "",
                "MEDIA_SOURCE": f'alias "{media_root}/$prefix/$rest";',
                "DOWNLOADS_SOURCE": f'alias "{media_root}/";'}
    options = settings.STORAGES["default"]["OPTIONS"]
    bucket = options["bucket_name"]
    location = (options.get("location") or "").strip("/")
    endpoint = options.get("endpoint_url")
    if endpoint:  # an S3 server of one's own: path-style addresses
        parts = urlsplit(endpoint)
        scheme, host = parts.scheme, parts.netloc
        path = f"/{bucket}"
    else:
        region = options.get("region_name") or "us-east-1"
        scheme, host, path = "https", f"{bucket}.s3.{region}.amazonaws.com", ""
    if scheme not in ("http", "https") or not host or any(c in host for c in ' ;{}"$'):
        raise CommandError(f"the S3 endpoint {endpoint!r} is not an http(s) address nginx can use.")
    if location:
        path += f"/{location}"
    port = host if ":" in host.rsplit("]", 1)[-1] else f"{host}:{443 if scheme == 'https' else 80}"
    cache = "media-cache" if standalone else "/var/cache/nginx/kino-media"
    http = (f"upstream kino_bucket {{\n    server {port};\n    keepalive 16;\n}}\n"
            f"proxy_cache_path {cache} levels=1:2 keys_zone=kino_media:16m max_size=10g "
            "inactive=1h use_temp_path=off;\n" + _TYPES)
    tls = (f"proxy_ssl_server_name on;\n        proxy_ssl_name {host.split(':')[0]};\n        "
           if scheme == "https" else "")
    source = (f"proxy_pass {scheme}://kino_bucket{path}/$prefix/$rest;\n"
              f"        proxy_http_version 1.1;\n"
              f"        proxy_set_header Connection \"\";\n"
              f"        proxy_set_header Host {host};\n"
              f"        proxy_set_header Authorization \"\";\n"
              f"        {tls}proxy_cache kino_media;\n"
              f"        proxy_cache_key $prefix/$rest;\n"
              f"        proxy_cache_valid 200 1h;\n"
              f"        proxy_no_cache $kino_playlist;\n"
              f"        proxy_cache_bypass $kino_playlist;\n"
              f"        proxy_cache_lock on;\n"
              f"        proxy_intercept_errors on;\n"
              f"        error_page 403 404 = @kino_missing;\n"
              f"        proxy_hide_header Content-Type;\n"
              f"        proxy_hide_header Cache-Control;\n"
              f"        proxy_ignore_headers Cache-Control Expires Set-Cookie;\n"
              f"        proxy_hide_header Set-Cookie;\n"
              # The bucket's own CORS and request ids: this location sets its own CORS.
              f"        proxy_hide_header Access-Control-Allow-Origin;\n"
              f"        proxy_hide_header Access-Control-Allow-Methods;\n"
              f"        proxy_hide_header Access-Control-Expose-Headers;\n"
              f"        proxy_hide_header x-amz-request-id;\n"
              f"        proxy_hide_header x-amz-id-2;\n"
              f"        add_header Content-Type $kino_media_type always;")
    missing = ("    # An object the bucket does not have (or will not give: without ListBucket a\n"
               "    # missing key is a 403): a plain 404, never the bucket's own answer. A 403\n"
               "    # of the path token check (no upstream asked) stays a 403.\n"
               "    location @kino_missing {\n"
               "        add_header Access-Control-Allow-Origin \"*\" always;\n"
               "        if ($upstream_status = \"\") {\n            return 403;\n        }\n"
               "        return 404;\n    }\n")
    return {"MEDIA_HTTP": http, "MEDIA_FROM_BUCKET": missing, "MEDIA_SOURCE": source,
            # Downloads are sent by the platform from the bucket; nothing is accelerated.
            "DOWNLOADS_SOURCE": "return 404;"}


def delivery_read_policy(*, sources: list[str]) -> dict:
    """The bucket policy that lets the delivery machines (`sources`: their addresses, as
    CIDRs) read the rendition folders and text tracks, and nothing else: originals
    (uploads/, imports/, recordings/) stay readable with credentials only. Anyone who
    once held a child URL knows an asset's folder, so the addresses are what keeps
    viewers from reading the bucket directly."""
    options = settings.STORAGES["default"]["OPTIONS"]
    location = (options.get("location") or "").strip("/")
    resource = f"arn:aws:s3:::{options['bucket_name']}/{location + '/' if location else ''}assets/*"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "KinoDeliveryReads", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": resource,
        "Condition": {"IpAddress": {"aws:SourceIp": sources}}}]}
