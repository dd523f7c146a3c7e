#!/usr/bin/env python
"""Where a tus upload's bytes wait with media in a bucket: on the web server's disk (so
every request of an upload must reach the same server: routing by upload id) against in
the bucket (any server takes any request), beside the bare copy of the same file into
the same bucket.

On loopback, in one run, alternating, with an S3 server (moto's, a process of its own):

  * the baseline: boto3's `upload_file` (multipart, its default 8 MiB parts, several at
    once) puts the test file in the bucket: what moving the bytes there costs at least;
  * `UPLOAD_STAGING=local`: gunicorn (2 sync workers) takes the upload by tus (tuspy,
    --chunk per PATCH) into its staging folder; the last PATCH moves the whole file into
    the bucket before it answers;
  * `UPLOAD_STAGING=storage`: the same, each PATCH's bytes written to the bucket as an
    object of their own, the last PATCH joining them there by multipart copies.

Time runs from the tus POST to the last PATCH's answer (the upload is in the bucket then,
in both modes), on the client's clock; throughput is the file's size over it. A ratio
against the baseline is printed per mode. The uploaded objects are checked (one, of the
file's size) and deleted after each run.

    .venv/bin/python bench/upload_staging.py [--size 256M] [--chunk 16M] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, free_port, wait_idle  # noqa: E402
from bench.upload import TUSPY_SCRIPT, Platform, make_test_file, parse_size, say  # noqa: E402

MB = 1e6
ACCESS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}
MOTO = ("from moto.server import ThreadedMotoServer; import time, sys; "
        "s = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False); "
        "s.start(); time.sleep(10**9)")


def start_s3(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(work / "moto.log", "ab")
    proc = subprocess.Popen([sys.executable, "-c", MOTO, str(port)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(endpoint, timeout=1)
            return proc, endpoint
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the S3 server did not start") from None
            time.sleep(0.1)


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}), **ACCESS)


def s3_env(endpoint: str, bucket: str, staging: str) -> dict[str, str]:
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": ACCESS["aws_access_key_id"],
            "S3_SECRET_ACCESS_KEY": ACCESS["aws_secret_access_key"],
            "S3_ADDRESSING_STYLE": "path", "UPLOAD_STAGING": staging}


def empty(client, bucket: str) -> list[tuple[str, int]]:
    """Delete every object; returns what was there."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found.append((item["Key"], item["Size"]))
            client.delete_object(Bucket=bucket, Key=item["Key"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=256 * 1024**2,
                        help="test file size, binary units (default 256M)")
    parser.add_argument("--chunk", type=parse_size, default=16 * 1024**2,
                        help="bytes per PATCH (default 16M)")
    parser.add_argument("--runs", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--idle-wait", type=float, default=20,
                        help="before each run, wait up to this long for a quiet machine")
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kino-staging-bench-"))
    source = work / "upload.bin"
    make_test_file(source, opts.size)
    s3, endpoint = start_s3(work)
    client = s3_client(endpoint)
    client.create_bucket(Bucket="bench")
    servers: dict[str, Platform] = {}
    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; file {opts.size / MB:.0f} MB, "
        f"tus PATCHes of {opts.chunk / MB:.1f} MB by tuspy; S3 server: moto on 127.0.0.1")
    try:
        for mode in ("local", "storage"):
            (work / mode).mkdir()
            server = Platform(work / mode, max_bytes=opts.size * 2)
            server.env.update(s3_env(endpoint, "bench", mode))
            server.prepare()
            server.start("gunicorn")
            servers[mode] = server
        results: dict[str, list[float]] = {"bare": [], "local": [], "storage": []}
        for round_ in range(1, opts.runs + 1):
            for label in ("bare", "local", "storage"):
                wait_idle(opts.idle_wait)
                if label == "bare":
                    started = time.monotonic()
                    client.upload_file(str(source), "bench", "bare/upload.bin")
                    seconds = time.monotonic() - started
                else:
                    server = servers[label]
                    url = server.create_upload()["url"]
                    proc = subprocess.run([sys.executable, "-c", TUSPY_SCRIPT, url, str(source),
                                           str(opts.chunk)], capture_output=True, text=True,
                                          timeout=3600)
                    if proc.returncode != 0:
                        raise SystemExit(f"tuspy failed: {proc.stderr[-2000:]}")
                    out = json.loads(proc.stdout.strip().splitlines()[-1])
                    seconds = out["seconds"]
                stored = empty(client, "bench")
                sizes = [size for key, size in stored if "/parts/" not in key]
                if sizes != [opts.size] or any("/parts/" in key for key, _ in stored):
                    raise SystemExit(f"{label}: the bucket held {stored}, not one object of "
                                     f"{opts.size} bytes")
                results[label].append(seconds)
                say(f"round {round_} {label:8} {seconds:6.2f} s  "
                    f"{opts.size / seconds / MB:7.1f} MB/s")
        bare = statistics.median(results["bare"])
        say("")
        say("| how | seconds (median) | MB/s | × bare |")
        say("|---|---:|---:|---:|")
        for label, text in (("bare", "boto3 upload_file into the bucket (bare)"),
                            ("local", "tus, staged on the web server's disk (route by upload id)"),
                            ("storage", "tus, staged in the bucket (any web server)")):
            median = statistics.median(results[label])
            say(f"| {text} | {median:.2f} | {opts.size / median / MB:.1f} | "
                f"{bare / median:.2f} |")
    finally:
        for server in servers.values():
            server.stop()
        s3.terminate()
        s3.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
