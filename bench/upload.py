#!/usr/bin/env python
"""Upload benchmark: a large file sent by tus to the platform against one PUT to nginx.

Makes a test file (2 GiB by default), then, on loopback:

  * the baseline: nginx (its own generated config, WebDAV `PUT`, one worker) takes the
    file in one `curl -T` PUT and writes it to disk;
  * the platform as production runs it: gunicorn (WSGI, 2 sync workers) takes the same
    file on an upload URL by tus 1.0.0: `POST` with `Upload-Length`, then one `PATCH`
    with the whole body, both sent by curl (the same client program as the baseline).
    Also, once each: tuspy with a few chunk sizes, and the upload URL's plain `PUT`.
  * informational: the embedded default web server (daphne, ASGI) with the same tus
    uploads (daphne and Django's ASGI handler take a whole request body before the
    view runs, so expect less there, and memory in proportion to the PATCH size).

Every destination (nginx's folder and temp path, the platform's UPLOAD_STAGING_DIR and
MEDIA_ROOT, daphne's TMPDIR) is in one temp dir, so on one disk. Throughput is bytes
over the client's own clock from the first request to the final response. While each
upload runs, the web server's process tree is sampled every 50 ms (VmRSS in /proc):
the peak of its largest process and of the sum, against the figures just before.

Goals: platform/nginx throughput >= 0.8, and the web server's RSS flat and under 200 MB
during the upload (judged on its largest process). MB are 10^6 bytes.

    .venv/bin/python bench/upload.py [--size 2G] [--runs 3] [--keep]

The bench process does not import Django: the platform runs only in its subprocesses.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import platform as platform_info
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from machine import (
    CLK_TCK,
    IDLE_CORES,
    ROOT,
    cpu_model,
    free_port,
    machine_busy,
    venv_bin,
    wait_idle,
)

RATIO_GOAL = 0.8
RSS_GOAL = 200_000_000  # bytes, for the web server's largest process
FLAT_GROWTH = 20_000_000  # bytes of growth over the upload still called "flat"
MB = 1_000_000
MiB = 1024 * 1024
SAMPLE_SECONDS = 0.05
TUS = "1.0.0"
NGINX = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"
CURL = os.environ.get("CURL_BIN") or "curl"

VERBOSE = False


def say(message: str = "") -> None:
    print(message, flush=True)


def debug(message: str) -> None:
    if VERBOSE:
        print(f"  . {message}", flush=True)


def parse_size(text: str) -> int:
    """'2G', '2GiB', '512M', '1500000': binary units."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2G, 512M, 1048576)")
    number, unit = float(match.group(1)), match.group(2).lower()
    value = int(number * 1024 ** " kmgt".index(unit or " "))
    if value < 1:
        raise argparse.ArgumentTypeError("the size must be at least 1 byte")
    return value


def human(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


def chunk_label(chunk: int | None) -> str:
    return "whole file" if chunk is None else human(chunk)


# --- test file ------------------------------------------------------------------------

def make_test_file(path: Path, size: int) -> float:
    """`size` bytes: a few MiB of random bytes repeated, each copy stamped with its index."""
    started = time.monotonic()
    block = os.urandom(4 * MiB)
    with open(path, "wb") as fh:
        written, index = 0, 0
        while written < size:
            piece = (index.to_bytes(8, "big") + block[8:])[: size - written]
            fh.write(piece)
            written += len(piece)
            index += 1
    return time.monotonic() - started


# --- /proc ----------------------------------------------------------------------------

def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except (OSError, ValueError):
            pass
    return found


def process_tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in pids and os.path.exists(f"/proc/{pid}"):
            pids.append(pid)
            todo += children(pid)
    return pids


def tree_rss(root: int) -> dict[int, int]:
    return {pid: rss for pid in process_tree(root) if (rss := _status(pid).get("VmRSS"))}


def reset_peak(root: int) -> None:
    """Reset VmHWM of the tree (writing 5 to clear_refs), so it then says the peak since."""
    for pid in process_tree(root):
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def tree_hwm(root: int) -> int:
    return max((_status(pid).get("VmHWM", 0) for pid in process_tree(root)), default=0)


def tree_cpu(root: int) -> float:
    total = 0.0
    for pid in process_tree(root):
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        total += (int(rest[11]) + int(rest[12])) / CLK_TCK
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime






def mem_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0




class RssSampler(threading.Thread):
    """Samples a process tree's VmRSS every SAMPLE_SECONDS until stopped."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.done = threading.Event()
        self.peak_largest = 0
        self.peak_sum = 0
        self.samples = 0

    def run(self) -> None:
        while True:
            rss = tree_rss(self.root)
            if rss:
                self.peak_largest = max(self.peak_largest, max(rss.values()))
                self.peak_sum = max(self.peak_sum, sum(rss.values()))
                self.samples += 1
            if self.done.wait(SAMPLE_SECONDS):
                break

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


# --- servers --------------------------------------------------------------------------





def stop_process(proc: subprocess.Popen | None) -> None:
    """SIGTERM to the process group we started, then SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def wait_until(check, proc: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not come up in {timeout:.0f} s:\n{tail(log)}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


NGINX_CONF = """\
worker_processes 1;
daemon off;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {data}/client_body_temp;
    proxy_temp_path {prefix}/proxy_temp;
    fastcgi_temp_path {prefix}/fastcgi_temp;
    uwsgi_temp_path {prefix}/uwsgi_temp;
    scgi_temp_path {prefix}/scgi_temp;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location /put/ {{
            root {data};
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"""


class Nginx:
    """nginx with its own config under a temp prefix; PUT bodies land in `data`/put."""

    def __init__(self, work: Path):
        self.prefix = work / "nginx"
        self.data = work / "nginx-data"
        self.port = free_port()
        self.conf = self.prefix / "nginx.conf"
        self.log = self.prefix / "stderr.log"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def check_dav() -> str:
        proc = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=30)
        info = proc.stderr + proc.stdout
        if "--with-http_dav_module" not in info:
            raise SystemExit(f"{NGINX} is built without the dav module (nginx -V)")
        match = re.search(r"nginx version: (\S+)", info)
        return match.group(1) if match else "nginx"

    def start(self) -> None:
        self.prefix.mkdir(parents=True)
        self.data.mkdir(parents=True)
        user = ""
        if os.geteuid() == 0:  # nginx's workers would otherwise run as nobody
            user = (f"user {pwd.getpwuid(os.getuid()).pw_name} "
                    f"{grp.getgrgid(os.getgid()).gr_name};")
        self.conf.write_text(NGINX_CONF.format(user=user, prefix=self.prefix, data=self.data,
                                               port=self.port))
        args = [NGINX, "-c", str(self.conf), "-p", str(self.prefix), "-e",
                str(self.prefix / "error.log")]
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        debug(f"nginx pid {self.proc.pid}: {shlex.join(args)}")
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                   or True, self.proc, self.prefix / "error.log", "nginx", timeout=20)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/put/{name}"

    def stored(self, name: str) -> Path:
        return self.data / "put" / name

    def stop(self) -> None:
        stop_process(self.proc)


class Platform:
    """The web server (gunicorn or daphne) on an isolated VAR_DIR; no task worker."""

    def __init__(self, work: Path, max_bytes: int):
        self.var_dir = work / "var"
        self.media_root = self.var_dir / "media"
        self.staging = self.var_dir / "staging"
        self.tmp = work / "tmp"
        self.env = dict(os.environ)
        self.env.update({
            "VAR_DIR": str(self.var_dir), "MEDIA_ROOT": str(self.media_root),
            "UPLOAD_STAGING_DIR": str(self.staging), "UPLOAD_MAX_BYTES": str(max_bytes),
            "DEBUG": "false", "SECRET_KEY": "bench-" + os.urandom(24).hex(),
            "ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.tmp),
        })
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        self.env.pop("REDIS_URL", None)  # the embedded defaults: no broker needed
        self.session = requests.Session()
        self.kind = ""
        self.port = 0
        self.base = ""
        self.proc: subprocess.Popen | None = None
        self.log = work / "server.log"

    def manage(self, *args: str) -> str:
        proc = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def prepare(self) -> None:
        self.var_dir.mkdir(parents=True)
        self.tmp.mkdir(parents=True)
        self.env["PUBLIC_BASE_URL"] = "http://127.0.0.1:8000"
        self.manage("migrate", "--noinput")
        key = self.manage("create_api_key", "--environment", "bench", "--scopes", "all")
        self.session.headers["Authorization"] = f"Bearer {key.strip()}"

    def command(self, kind: str) -> list[str]:
        if kind == "gunicorn":
            return [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}",
                    "config.wsgi:application"]
        return [venv_bin("daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                "config.asgi:application"]

    def start(self, kind: str) -> None:
        self.kind = kind
        self.manage("migrate", "--noinput")  # the code may have moved on since prepare()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env["PUBLIC_BASE_URL"] = self.base
        self.log = self.var_dir.parent / f"{kind}.log"
        args = self.command(kind)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=fh,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        debug(f"{kind} pid {self.proc.pid}: {shlex.join(args)}")
        wait_until(lambda: self.session.get(f"{self.base}/api/v1/uploads", timeout=2).ok,
                   self.proc, self.log, kind)
        if kind == "gunicorn":  # both workers up, so the tree is complete when sampled
            deadline = time.monotonic() + 30
            while len(process_tree(self.proc.pid)) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
        # A few requests so every worker has imported what a request needs.
        for _ in range(6):
            self.session.get(f"{self.base}/api/v1/uploads", timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise SystemExit(f"{self.kind} is not running:\n{tail(self.log)}")
        text = tail(self.log, 20000)
        if "WORKER TIMEOUT" in text:
            raise SystemExit(f"a gunicorn worker timed out during the upload:\n{tail(self.log)}")

    def create_upload(self) -> dict:
        created = self.session.post(f"{self.base}/api/v1/uploads",
                                    json={"new_asset_settings": {"playback_policy": ["public"]}},
                                    timeout=30)
        if created.status_code != 201:
            raise SystemExit(f"POST /api/v1/uploads: {created.status_code} {created.text}")
        return created.json()

    def verify(self, upload_id: str, size: int) -> str:
        """The upload reads asset_created and its stored file has `size` bytes; then the
        stored file is removed to free the disk. Returns the asset id."""
        got = self.session.get(f"{self.base}/api/v1/uploads/{upload_id}", timeout=30)
        body = got.json() if got.ok else {}
        if body.get("status") != "asset_created" or not body.get("asset_id"):
            raise SystemExit(f"upload {upload_id} did not end asset_created: "
                             f"{got.status_code} {got.text[:500]}")
        folder = self.media_root / "uploads" / upload_id
        stored = sorted(folder.glob("master-*")) if folder.is_dir() else []
        if len(stored) != 1 or stored[0].stat().st_size != size:
            sizes = [p.stat().st_size for p in stored]
            raise SystemExit(f"upload {upload_id}: stored files {sizes}, expected one of {size} B")
        shutil.rmtree(folder, ignore_errors=True)
        leftovers = [p for p in self.staging.iterdir()] if self.staging.is_dir() else []
        leftovers += [p for p in self.tmp.iterdir()] if self.tmp.is_dir() else []
        if leftovers:
            say(f"  WARNING: left behind after the upload: {[str(p) for p in leftovers]}")
        return body["asset_id"]


# --- clients --------------------------------------------------------------------------

CURL_TIMING = "%{http_code} %{time_total} %{size_upload}"


def curl(args: list[str], headers_file: Path) -> tuple[int, float, int, dict[str, str]]:
    """Runs curl; returns (status, curl's time_total, bytes sent, response headers)."""
    cmd = [CURL, "-sS", "-o", "/dev/null", "-D", str(headers_file), "-w", CURL_TIMING,
           "-H", "Expect:", *args]
    debug(shlex.join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"curl failed ({proc.returncode}): {proc.stderr.strip()}\n"
                         f"{shlex.join(cmd)}")
    code, total, sent = proc.stdout.split()
    headers = {}
    for line in headers_file.read_text(errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(code), float(total), int(float(sent)), headers


TUSPY_SCRIPT = r"""
import json, sys, time
from tusclient import client
url, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
uploader = client.TusClient(url).uploader(file_path=path, chunk_size=chunk,
                                          metadata={"filename": "bench.bin"})
patches = 0
started = time.monotonic()
uploader.stop_at = uploader.get_file_size()
uploader.set_url(uploader.create_url())
uploader.offset = 0
while uploader.offset < uploader.stop_at:
    uploader.upload_chunk()
    patches += 1
seconds = time.monotonic() - started
print(json.dumps({"seconds": seconds, "offset": uploader.offset, "patches": patches,
                  "status": uploader.request.status_code}))
"""


@dataclass
class Run:
    label: str
    seconds: float
    size: int
    rss_before_largest: int = 0
    rss_before_sum: int = 0
    peak_largest: int = 0
    peak_sum: int = 0
    hwm: int = 0
    rss_after_largest: int = 0
    samples: int = 0
    cpu_server: float = 0.0
    cpu_client: float = 0.0
    others: float = 0.0
    requests: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def mbps(self) -> float:
        return self.size / self.seconds / MB

    @property
    def growth(self) -> int:
        return max(self.peak_largest, self.hwm) - self.rss_before_largest

    def line(self) -> str:
        return (f"{self.seconds:7.2f} s {self.mbps:8.1f} MB/s | server RSS MB: before "
                f"{self.rss_before_largest / MB:.0f} (largest) "
                f"{self.rss_before_sum / MB:.0f} (sum), "
                f"peak {self.peak_largest / MB:.0f} (largest, VmHWM {self.hwm / MB:.0f}) "
                f"{self.peak_sum / MB:.0f} (sum), after {self.rss_after_largest / MB:.0f} | "
                f"CPU s: server {self.cpu_server:.1f}, client {self.cpu_client:.1f}, "
                f"other processes {self.others:.1f}")


class Bench:
    def __init__(self, source: Path, size: int, work: Path, idle_wait: float):
        self.source = source
        self.size = size
        self.work = work
        self.idle_wait = idle_wait
        self.headers = work / "headers.txt"

    def settle(self, label: str) -> None:
        os.sync()  # the previous run's dirty pages must not slow this one's writes
        started = time.monotonic()
        used = wait_idle(self.idle_wait)
        if used is not None:
            state = "busy" if used > IDLE_CORES else "idle"
            say(f"  (waited {time.monotonic() - started:.0f} s before {label}; machine {state}, "
                f"{used:.2f} CPUs in use)")

    def measure(self, label: str, root: int, upload) -> Run:
        """Runs `upload()` (returns (seconds, requests)) while sampling the tree at `root`."""
        self.settle(label)
        reset_peak(root)
        before = tree_rss(root)
        sampler = RssSampler(root)
        cpu0 = (tree_cpu(root), children_cpu(), self_cpu(), machine_busy())
        sampler.start()
        try:
            seconds, count = upload()
        finally:
            sampler.stop()
        cpu1 = (tree_cpu(root), children_cpu(), self_cpu(), machine_busy())
        after = tree_rss(root)
        run = Run(label=label, seconds=seconds, size=self.size,
                  rss_before_largest=max(before.values(), default=0),
                  rss_before_sum=sum(before.values()),
                  peak_largest=sampler.peak_largest, peak_sum=sampler.peak_sum,
                  hwm=tree_hwm(root), rss_after_largest=max(after.values(), default=0),
                  samples=sampler.samples, requests=count,
                  cpu_server=cpu1[0] - cpu0[0], cpu_client=cpu1[1] - cpu0[1])
        bench_cpu = cpu1[2] - cpu0[2]  # the sampler's own work
        run.others = max(0.0, (cpu1[3] - cpu0[3]) - run.cpu_server - run.cpu_client - bench_cpu)
        return run

    # The uploads: each returns (seconds, requests) and checks its answer.

    def nginx_put(self, nginx: Nginx, name: str):
        def upload():
            code, seconds, sent, _ = curl(["-T", str(self.source), nginx.url(name)], self.headers)
            if code not in (201, 204) or sent != self.size:
                raise SystemExit(f"nginx PUT: HTTP {code}, {sent} bytes sent\n"
                                 f"{tail(nginx.prefix / 'error.log')}")
            return seconds, 1
        return upload

    def tus_curl(self, plat: Platform, holder: dict):
        def upload():
            url = plat.create_upload()["url"]
            holder["id"] = url.rstrip("/").split("/")[-2]
            code, t_post, _, headers = curl(
                ["-X", "POST", "-H", f"Tus-Resumable: {TUS}", "-H", f"Upload-Length: {self.size}",
                 url], self.headers)
            location = headers.get("location")
            if code != 201 or not location:
                raise SystemExit(f"tus POST: HTTP {code}, headers {headers}")
            code, t_patch, sent, headers = curl(
                ["-X", "PATCH", "-T", str(self.source), "-H", f"Tus-Resumable: {TUS}",
                 "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
                 location], self.headers)
            if code != 204 or headers.get("upload-offset") != str(self.size):
                raise SystemExit(f"tus PATCH: HTTP {code}, {sent} bytes sent, headers {headers}\n"
                                 f"{tail(plat.log)}")
            return t_post + t_patch, 2
        return upload

    def put_curl(self, plat: Platform, holder: dict):
        def upload():
            url = plat.create_upload()["url"]
            holder["id"] = url.rstrip("/").split("/")[-2]
            code, seconds, sent, _ = curl(["-T", str(self.source), url], self.headers)
            if code != 200 or sent != self.size:
                raise SystemExit(f"platform PUT: HTTP {code}, {sent} bytes sent\n{tail(plat.log)}")
            return seconds, 1
        return upload

    def tus_tuspy(self, plat: Platform, chunk: int, holder: dict):
        def upload():
            url = plat.create_upload()["url"]
            holder["id"] = url.rstrip("/").split("/")[-2]
            cmd = [sys.executable, "-c", TUSPY_SCRIPT, url, str(self.source), str(chunk)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"tuspy failed:\n{proc.stderr[-3000:]}\n{tail(plat.log)}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            if out["offset"] != self.size:
                raise SystemExit(f"tuspy ended at offset {out['offset']}, not {self.size}")
            return out["seconds"], out["patches"] + 1
        return upload


# --- main -----------------------------------------------------------------------------

def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=2 * 1024**3,
                        help="test file size, binary units (default 2G)")
    parser.add_argument("--runs", type=int, default=3,
                        help="alternating runs of nginx PUT and gunicorn tus by curl (default 3)")
    parser.add_argument("--tuspy-chunks", default="64M,256M,whole",
                        help="tuspy chunk sizes for gunicorn, comma-separated; 'whole' is one "
                             "PATCH (default 64M,256M,whole); empty: none")
    parser.add_argument("--daphne-chunks", default="whole,64M",
                        help="daphne runs: 'whole' is curl with one PATCH, a size is tuspy "
                             "with that chunk size (default whole,64M); empty: skip daphne")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the temp dir goes (default $TMPDIR or /tmp)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (test file, logs) and print its path")
    parser.add_argument("--idle-wait", type=float, default=30,
                        help="before each upload, wait up to this many seconds for the machine "
                             f"to use under {IDLE_CORES} CPUs (0: do not wait; default 30)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the platform's web servers (repeatable), "
                             "e.g. MALLOC_MMAP_THRESHOLD_=4194304 to try an allocator setting")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every command")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if a goal is missed")
    opts = parser.parse_args()
    VERBOSE = opts.verbose
    if opts.runs < 1:
        parser.error("--runs must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def chunks(text: str) -> list[int | None]:
        return [None if c.strip().lower() == "whole" else parse_size(c)
                for c in text.split(",") if c.strip()]
    tuspy_chunks, daphne_chunks = chunks(opts.tuspy_chunks), chunks(opts.daphne_chunks)
    size = opts.size

    opts.dir.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(opts.dir)
    # The test file, plus one copy in nginx's folder or in the platform's staging dir and
    # storage (a rename), plus room for daphne's temp files and the page cache's lag.
    need = 3 * size
    if disk.free < need:
        say(f"Not enough free disk in {opts.dir}: {disk.free / 1e9:.1f} GB free, this run needs "
            f"3 x {size / 1e9:.2f} GB = {need / 1e9:.1f} GB. Free some space, choose another "
            f"--dir, or a smaller --size.")
        return 2
    nginx_version = Nginx.check_dav()
    if shutil.which(CURL) is None:
        raise SystemExit("curl is needed: apt-get install curl")

    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, {platform_info.platform()}, "
        f"{mem_available() / 1e9:.1f} GB memory available")
    say(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    say(f"disk: {disk.free / 1e9:.1f} GB free in {opts.dir}; vm.dirty_ratio "
        f"{Path('/proc/sys/vm/dirty_ratio').read_text().strip()} %, dirty_background_ratio "
        f"{Path('/proc/sys/vm/dirty_background_ratio').read_text().strip()} %")
    curl_version = subprocess.run([CURL, "--version"], capture_output=True,
                                  text=True).stdout.split()[1]
    say(f"clients: curl {curl_version} (-T, 'Expect:' off) for the PUTs and the tus POST+PATCH; "
        f"tuspy for chunked tus; servers: {nginx_version}, gunicorn -w 2 (sync), daphne")

    work = Path(tempfile.mkdtemp(prefix="kino-upload-bench-", dir=opts.dir))
    source = work / "upload.bin"
    nginx = Nginx(work)
    plat = Platform(work, max_bytes=max(size, 4 * 1024**3))
    for item in opts.server_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--server-env wants NAME=VALUE, not {item!r}")
        plat.env[name] = value
    if opts.server_env:
        say(f"web server environment: {' '.join(opts.server_env)}")
    results: dict[str, list[Run]] = {}

    def record(run: Run) -> Run:
        results.setdefault(run.label, []).append(run)
        say(f"  {run.label:<34} {run.line()}")
        return run

    try:
        seconds = make_test_file(source, size)
        say(f"test file: {source} {size} bytes ({human(size)}), made in {seconds:.1f} s")
        bench = Bench(source, size, work, opts.idle_wait)
        nginx.start()
        plat.prepare()
        plat.start("gunicorn")
        devices = {os.stat(p).st_dev for p in (nginx.data, plat.var_dir, plat.tmp, source)}
        say(f"nginx on :{nginx.port} (PUT into {nginx.data}), gunicorn on :{plat.port} "
            f"(staging {plat.staging}); "
            f"{'one filesystem' if len(devices) == 1 else 'SEVERAL filesystems'}")
        say("")

        for i in range(1, opts.runs + 1):
            name = f"run-{i}.bin"
            record(bench.measure("nginx PUT (curl)", nginx.proc.pid,
                                 bench.nginx_put(nginx, name)))
            stored = nginx.stored(name)
            if not stored.is_file() or stored.stat().st_size != size:
                raise SystemExit(f"nginx stored {stored}: wrong size or missing")
            stored.unlink()
            holder: dict = {}
            record(bench.measure("gunicorn tus (curl, 1 PATCH)", plat.proc.pid,
                                 bench.tus_curl(plat, holder)))
            plat.check_alive()
            plat.verify(holder["id"], size)

        holder = {}
        record(bench.measure("gunicorn PUT (curl)", plat.proc.pid, bench.put_curl(plat, holder)))
        plat.check_alive()
        plat.verify(holder["id"], size)
        for chunk in tuspy_chunks:
            holder = {}
            record(bench.measure(f"gunicorn tus (tuspy, {chunk_label(chunk)})", plat.proc.pid,
                                 bench.tus_tuspy(plat, chunk or size, holder)))
            plat.check_alive()
            plat.verify(holder["id"], size)
        plat.stop()
        nginx.stop()

        if daphne_chunks:
            for chunk in daphne_chunks:
                # A fresh daphne for each variant: memory it took for one upload is not
                # handed back to the system, and would hide the next one's peak.
                if chunk is None:
                    # Twisted spools the body to a temp file, daphne then queues all of it
                    # for the application at once (in memory), and Django's ASGI handler
                    # copies it into its own temp file before the view runs.
                    if mem_available() < 2.5 * size or shutil.disk_usage(work).free < 4 * size:
                        say(f"  skipped daphne with one PATCH: it needs about {size / 1e9:.1f} GB "
                            f"of memory (x2.5 free) and 3 more copies on disk")
                        continue
                plat.start("daphne")
                say(f"daphne on :{plat.port}")
                holder = {}
                if chunk is None:
                    record(bench.measure("daphne tus (curl, 1 PATCH)", plat.proc.pid,
                                         bench.tus_curl(plat, holder)))
                else:
                    record(bench.measure(f"daphne tus (tuspy, {chunk_label(chunk)})",
                                         plat.proc.pid, bench.tus_tuspy(plat, chunk, holder)))
                plat.check_alive()
                plat.verify(holder["id"], size)
                plat.stop()
    finally:
        plat.stop()
        nginx.stop()
        plat.session.close()
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def med(label: str) -> Run:
        runs = sorted(results[label], key=lambda r: r.seconds)
        return runs[(len(runs) - 1) // 2]  # the middle run; the slower middle one if even

    base = med("nginx PUT (curl)")
    head = med("gunicorn tus (curl, 1 PATCH)")
    ratio = head.mbps / base.mbps
    gunicorn_runs = [r for label, rs in results.items() if label.startswith("gunicorn") for r in rs]
    peak = max(max(r.peak_largest, r.hwm) for r in gunicorn_runs)
    peak_sum = max(r.peak_sum for r in gunicorn_runs)
    growth = max(r.growth for r in gunicorn_runs)
    ratio_met = ratio >= RATIO_GOAL
    rss_met = peak < RSS_GOAL and growth < FLAT_GROWTH

    say("")
    say(f"results ({size} bytes = {size / MB:.1f} MB; nginx and gunicorn/curl: median of "
        f"{opts.runs}, by time; the others: one run each):")
    for label, runs in results.items():
        r = med(label)
        spread = ""
        if len(runs) > 1:
            spread = f" [{min(x.mbps for x in runs):.0f}-{max(x.mbps for x in runs):.0f}]"
        vs = f"  x{r.mbps / base.mbps:.2f} of nginx" if label != base.label else ""
        say(f"  {label:<34} {r.seconds:7.2f} s {r.mbps:8.1f} MB/s{spread}{vs}; "
            f"server peak RSS {max(r.peak_largest, r.hwm) / MB:.0f} MB largest "
            f"(+{r.growth / MB:.0f} over {r.rss_before_largest / MB:.0f}), "
            f"{r.peak_sum / MB:.0f} MB sum (sampled); "
            f"{r.requests} request{'s' if r.requests > 1 else ''}")
    say(f"  ratio gunicorn tus / nginx PUT throughput  {ratio:.3f}   goal >= {RATIO_GOAL}: "
        f"{'met' if ratio_met else 'NOT met'}")
    say(f"  gunicorn peak RSS (largest process, all gunicorn runs)  {peak / MB:.0f} MB, "
        f"growth during an upload <= {growth / MB:.0f} MB; sum of master + 2 workers "
        f"{peak_sum / MB:.0f} MB   goal flat and < {RSS_GOAL / MB:.0f} MB: "
        f"{'met' if rss_met else 'NOT met'}")
    daphne = [med(label) for label in results if label.startswith("daphne")]
    if daphne:
        say("  daphne (informational): " + "; ".join(
            f"{r.label.removeprefix('daphne ')} {r.mbps:.0f} MB/s, peak RSS "
            f"{max(r.peak_largest, r.hwm) / MB:.0f} MB" for r in daphne))
    disturbed = [r for rs in results.values() for r in rs
                 if r.others > 0.1 * r.seconds * (os.cpu_count() or 1)]
    if disturbed:
        say(f"  WARNING: in {len(disturbed)} upload(s) other processes used over 10 % of the "
            f"machine's CPU; the figures are noisy. Rerun on an idle machine.")
    say("")
    daphne_text = ""
    if daphne:
        daphne_text = "; daphne " + ", ".join(
            f"{r.label.removeprefix('daphne tus ').strip('()')}: {r.mbps:.0f} MB/s, "
            f"peak RSS {max(r.peak_largest, r.hwm) / MB:.0f} MB" for r in daphne)
    say(f"SUMMARY: upload {human(size)} on loopback, {os.cpu_count()} CPUs: nginx PUT "
        f"{base.mbps:.0f} MB/s, gunicorn tus {head.mbps:.0f} MB/s, ratio {ratio:.2f} "
        f"(goal >= {RATIO_GOAL}: {'met' if ratio_met else 'NOT met'}); gunicorn peak RSS "
        f"{peak / MB:.0f} MB, +{growth / MB:.0f} MB during the upload (goal flat < "
        f"{RSS_GOAL / MB:.0f} MB: {'met' if rss_met else 'NOT met'}){daphne_text}")
    return 1 if (opts.check and not (ratio_met and rss_met)) else 0


if __name__ == "__main__":
    sys.exit(main())
