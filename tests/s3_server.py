"""A real S3 server for the tests: moto's, speaking the S3 HTTP API on a loopback port.

Started once per test process, the first time a test asks for S3; every test gets a
bucket of its own. The platform reaches it through django-storages and boto3, exactly as
it reaches a production bucket (only the endpoint differs)."""

from __future__ import annotations

import logging
import uuid
from functools import cache

ACCESS_KEY = "kino-test"
SECRET_KEY = "kino-test-secret"
REGION = "us-east-1"


@cache
def endpoint() -> str:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def client():
    import boto3

    return boto3.client("s3", endpoint_url=endpoint(), aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name=REGION)


def new_bucket() -> str:
    name = f"kino-test-{uuid.uuid4().hex[:16]}"
    client().create_bucket(Bucket=name)
    return name


def storage_settings(bucket: str) -> dict:
    """settings.STORAGES["default"] for that bucket, as STORAGE_BACKEND=s3 makes it."""
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": endpoint(), "region_name": REGION,
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "file_overwrite": True,
        "default_acl": None, "querystring_auth": True, "addressing_style": "path"}}


def environment(bucket: str) -> dict[str, str]:
    """The same, as the environment of a platform process."""
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint(),
            "S3_REGION": REGION, "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_ADDRESSING_STYLE": "path"}


def keys(bucket: str, prefix: str = "") -> dict[str, int]:
    """Every object in the bucket (under prefix): key -> size."""
    found = {}
    for page in client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["Size"]
    return found
