"""A large evidence upload through the tus endpoint over loopback, against gunicorn as deployed.

Figures (issue 4):
- `upload_vs_disk`: the upload's throughput (creation to the last PATCH's answer, so including
  the server's completion: sniffing, the streamed SHA-256, storing, the row and its audit event)
  as a ratio of copying the same file on the same disk in the same run (`shutil.copyfile`, what
  `cp` does). Aim >= 0.5.
- `upload_mem_mib`: how much the gunicorn workers' resident memory grew during the upload: the
  sum over workers of peak RSS (VmHWM, reset just before) minus RSS before. Aim < 64.
- `upload_vs_wsgi`: the same upload against the ceiling of the WSGI server itself: a bare WSGI
  app under the same gunicorn command that only appends each PATCH body to a file. What is left
  between the two is ours (Django, the tus view, the SHA-256 pass and storing on completion).
- `sha256_vs_disk` and `wsgi_vs_disk`: the two ceilings against the disk copy, so each run
  shows how far `upload_vs_disk` could go: hashlib's SHA-256 of the same file on one core (the
  issue wants every file's SHA-256; no upload that hashes its bytes can beat it), and that
  bare WSGI app alone.

Against the reference (issue 19, section 4):
- `upload_vs_tus`: Flipside's throughput over that of the reference tus server, `@tus/server`
  with `@tus/file-store` on Node (bench/tus/server.mjs, pinned by bench/tus/package-lock.json,
  installed with `npm ci` on first use), receiving the same file in the same 64 MiB parts from
  the same client in the same run. The reference only appends the parts to a file; Flipside
  also hashes, sniffs, stores and records. Aim >= 1.5, with `upload_mem_mib` < 64. The two are
  measured in turns (`--rounds`, default 3: reference, Flipside, reference, Flipside, ...) and each
  side's best round counts, as the machines are shared and a neighbour's burst should not
  decide the ratio; every round is printed.

The file is a generated MP4 (so the sniffer accepts it): an `ftyp` and one `mdat`, without the
`moov` a phone writes, so completion makes no viewing copy (a phone video's copy without its
location boxes, assessment/evidence/video.py, costs one more in-kernel copy of the file, about what
`upload_vs_disk` divides by). It is `--size-mib` MiB, default 1024:
`python bench/run.py upload [--size-mib N]` (or BENCH_UPLOAD_SIZE_MIB), or directly
`python -m bench.upload [--size-mib N] [--rounds N] [--quick]`; `--quick` (or
BENCH_UPLOAD_QUICK=1) is 256 MiB in two rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import ROOT, _command, free_port, scratch_env, serve

# The part size of the upload widget (static/js/evidence-upload.js, CHUNK_SIZE).
CHUNK_BYTES = 64 * 1024 * 1024
MIB = 1024 * 1024


TUS_DIR = ROOT / "bench" / "tus"


def run(options: argparse.Namespace) -> dict[str, float]:
    quick = bool(getattr(options, "quick", False) or os.environ.get("BENCH_UPLOAD_QUICK"))
    size_mib = int(getattr(options, "size_mib", None) or 1024)
    if quick and size_mib == 1024:  # the default: quick means smaller
        size_mib = 256
    size_mib = int(os.environ.get("BENCH_UPLOAD_SIZE_MIB") or size_mib)
    rounds = int(getattr(options, "rounds", None) or (2 if quick else 3))
    size = size_mib * MIB
    _reference_deps()
    with scratch_env() as env:
        built = subprocess.run(
            [sys.executable, "-m", "bench.upload_data"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        data = json.loads(built.stdout.strip().splitlines()[-1])
        if not data["endpoint"]:
            sys.exit("the upload URLs are not mounted: assessment/urls.py must include them")
        scratch = Path(env["VAR_DIR"])
        source = scratch / "bench-upload.mp4"
        digest = _generate(source, size)
        copy_seconds = _disk_copy(source, scratch / "bench-copy.mp4")
        print(
            f"disk copy:  {size_mib} MiB in {copy_seconds:6.2f} s  "
            f"{size_mib / copy_seconds:7.0f} MiB/s"
        )
        hash_seconds = _hash_seconds(size)
        print(
            f"SHA-256:    {size_mib} MiB in {hash_seconds:6.2f} s  "
            f"{size_mib / hash_seconds:7.0f} MiB/s  (hashlib alone, on bytes in memory: "
            f"vs disk {copy_seconds / hash_seconds:.2f}, the ceiling of an upload that hashes)"
        )
        sink_seconds = _sink_seconds(source, env)
        print(
            f"bare WSGI:  {size_mib} MiB in {sink_seconds:6.2f} s  "
            f"{size_mib / sink_seconds:7.0f} MiB/s  (gunicorn appending PATCH bodies to a file)"
        )
        with serve("gunicorn", env) as base, reference_tus(scratch / "tus-files") as tus:
            client = TusClient(base, data["endpoint"], _signed_in(data))
            workers = _workers(urlsplit(base).port or 0)
            # Warm up every worker (imports, connections, first queries) and the reference
            # (its JIT) before measuring.
            warm = scratch / "warm.mp4"
            _generate(warm, min(size, 32 * MIB))
            for _ in range(3):
                client.upload(warm, 8 * MIB)
            tus.client.upload(warm, 8 * MIB)
            tus.clear()
            upload_times, tus_times, growths, sampled = [], [], [], []
            for round_ in range(1, rounds + 1):
                os.sync()
                tus_times.append(tus.measure(source))
                tus.clear()
                before = {pid: _status(pid, "VmRSS") for pid in workers}
                hwm_reset = all(_reset_peak(pid) for pid in workers)
                sampler = RssSampler(workers)
                sampler.start()
                os.sync()
                started = time.perf_counter()
                client.upload(source, CHUNK_BYTES)
                upload_times.append(time.perf_counter() - started)
                sampler.stop()
                peaks = {pid: _status(pid, "VmHWM") for pid in workers}
                if hwm_reset:
                    growth = sum(max(0, peaks[pid] - before[pid]) for pid in workers) / 1024
                else:  # no clear_refs: fall back to what the sampler saw
                    growth = sampler.growth_kib / 1024
                growths.append(growth)
                sampled.append(sampler.growth_kib / 1024)
                print(
                    f"round {round_}:    reference tus {size_mib / tus_times[-1]:5.0f} MiB/s "
                    f"(server memory +{tus.growth_mib:.1f} MiB), Flipside "
                    f"{size_mib / upload_times[-1]:5.0f} MiB/s (+{growth:.1f} MiB): "
                    f"{tus_times[-1] / upload_times[-1]:.2f}x"
                )
                stored = _stored_digest(Path(data["media_root"]), size)
                if stored != digest:
                    sys.exit("the stored file's SHA-256 differs from the uploaded file's")
    upload_seconds, tus_seconds = min(upload_times), min(tus_times)
    growth = max(growths)
    ratio = copy_seconds / upload_seconds
    print(
        f"tus upload: {size_mib} MiB in {upload_seconds:6.2f} s  "
        f"{size_mib / upload_seconds:7.0f} MiB/s  ({CHUNK_BYTES // MIB} MiB chunks, "
        f"{len(workers)} workers, best of {rounds})  vs disk {ratio:.2f}"
    )
    print(
        f"reference:  {size_mib} MiB in {tus_seconds:6.2f} s  "
        f"{size_mib / tus_seconds:7.0f} MiB/s  (@tus/server + @tus/file-store on Node "
        f"{tus.node_version}, best of {rounds})  Flipside vs it {tus_seconds / upload_seconds:.2f}"
    )
    print(
        f"worker memory growth: {growth:.1f} MiB (peak RSS over RSS before, summed, the worst "
        f"round; sampled every 10 ms: {max(sampled):.1f} MiB)"
    )
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    return {
        "upload_vs_tus": round(tus_seconds / upload_seconds, 2),
        "upload_mem_mib": round(growth, 1),
        "upload_vs_disk": round(ratio, 2),
        "upload_vs_wsgi": round(sink_seconds / upload_seconds, 2),
        # The two ceilings, measured in the same run: the SHA-256 the issue asks for, alone on
        # one core, and the WSGI server alone storing the bodies, each against the disk copy.
        "sha256_vs_disk": round(copy_seconds / hash_seconds, 2),
        "wsgi_vs_disk": round(copy_seconds / sink_seconds, 2),
    }


def _signed_in(data: dict[str, Any]) -> dict[str, str]:
    return {
        "Cookie": f"{data['cookie_name']}={data['session']}; "
        f"{data['csrf_cookie_name']}={data['csrf']}",
        "X-CSRFToken": data["csrf"],
    }


def _reference_deps() -> None:
    """`npm ci` in bench/tus once, and again whenever its lockfile changes."""
    installed = TUS_DIR / "node_modules" / ".package-lock.json"
    lock = TUS_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        sys.exit("bench upload needs Node.js and npm for the reference tus server")
    subprocess.run(
        [npm, "ci", "--prefix", str(TUS_DIR), "--no-audit", "--no-fund", "--loglevel=error"],
        check=True,
    )


class ReferenceTus:
    """The reference server running, its client, and what one upload to it cost."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, files: Path) -> None:
        self.process, self.files = process, files
        self.client = TusClient(f"http://127.0.0.1:{port}", "/files", {})
        self.growth_mib = 0.0
        self.node_version = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()

    def measure(self, source: Path) -> float:
        pid = self.process.pid
        before = _status(pid, "VmRSS")
        reset = _reset_peak(pid)
        started = time.perf_counter()
        self.client.upload(source, CHUNK_BYTES)
        seconds = time.perf_counter() - started
        self.growth_mib = (_status(pid, "VmHWM") - before) / 1024 if reset else float("nan")
        stored = [p for p in self.files.iterdir() if p.suffix != ".json"]
        if [p.stat().st_size for p in stored] != [source.stat().st_size]:
            sys.exit(f"the reference stored {[p.stat().st_size for p in stored]} bytes")
        return seconds

    def clear(self) -> None:
        for path in self.files.iterdir():
            path.unlink()


@contextmanager
def reference_tus(files: Path) -> Iterator[ReferenceTus]:
    files.mkdir()
    port = free_port()
    command = ["node", str(TUS_DIR / "server.mjs"), str(port), str(files)]
    process = subprocess.Popen(command, cwd=TUS_DIR, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit("the reference tus server did not start")
                time.sleep(0.1)
        yield ReferenceTus(process, port, files)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _generate(path: Path, size: int) -> str:
    """An MP4 box structure (ftyp, then one mdat) filled with incompressible bytes."""
    if size >= 2**32:
        sys.exit("--size-mib must stay under 4096 (one 32-bit mdat box)")
    header = struct.pack(">I", 24) + b"ftypisom" + b"\0\0\2\0" + b"isomavc1"
    header += struct.pack(">I", size - len(header)) + b"mdat"
    block = os.urandom(8 * MIB)
    sha = hashlib.sha256(header)
    with path.open("wb") as out:
        out.write(header)
        left = size - len(header)
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            sha.update(piece)
            left -= len(piece)
    return sha.hexdigest()


def _disk_copy(source: Path, target: Path) -> float:
    shutil.copyfile(source, target)  # once to warm the cache as the upload finds it
    target.unlink()
    os.sync()  # every measurement starts with no dirty pages left to write back
    started = time.perf_counter()
    shutil.copyfile(source, target)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def _hash_seconds(size: int) -> float:
    """SHA-256 over `size` bytes already in memory (8 MiB hashed over and over): the hashing
    alone, with no reading or copying, on one core (a hash cannot be split across cores)."""
    block = os.urandom(8 * MIB)
    hashlib.sha256(block).hexdigest()  # warm
    sha = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(size // len(block)):
        sha.update(block)
    sha.update(block[: size % len(block)])
    sha.hexdigest()
    return time.perf_counter() - started


def sink(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The bare WSGI app: append the request body to one file, in 1 MiB reads."""
    left = int(environ.get("CONTENT_LENGTH") or 0)
    path = Path(os.environ["VAR_DIR"]) / "sink.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while left:
            chunk = environ["wsgi.input"].read(min(MIB, left))
            if not chunk:
                break
            os.write(fd, chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    start_response("204 No Content", [])
    return [b""]


def _sink_seconds(source: Path, env: dict[str, str]) -> float:
    port = free_port()
    command = [
        "bench.upload:sink" if arg == "config.wsgi:application" else arg
        for arg in _command("gunicorn", port)
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    sys.exit("the bare WSGI server did not start")
                time.sleep(0.1)
        size = source.stat().st_size
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        buffer = bytearray(CHUNK_BYTES)
        view = memoryview(buffer)
        os.sync()
        started = time.perf_counter()
        with source.open("rb") as f:
            while n := f.readinto(view):
                conn.putrequest("PATCH", "/sink")
                conn.putheader("Content-Length", str(n))
                conn.endheaders()
                conn.send(view[:n])
                conn.getresponse().read()
        seconds = time.perf_counter() - started
        conn.close()
        (Path(env["VAR_DIR"]) / "sink.bin").unlink()
        if size and not seconds:
            raise RuntimeError("no time measured")
        return seconds
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stored_digest(media_root: Path, size: int) -> str:
    stored = [p for p in (media_root / "evidence").rglob("*") if p.is_file()]
    newest = max(stored, key=lambda p: p.stat().st_mtime)
    if newest.stat().st_size != size:
        sys.exit(f"stored {newest.stat().st_size} bytes, expected {size}")
    sha = hashlib.sha256()
    with newest.open("rb") as f:
        while chunk := f.read(8 * MIB):
            sha.update(chunk)
    return sha.hexdigest()


class TusClient:
    """The tus client's part in a few lines of http.client, on one keep-alive connection; the
    same for Flipside (signed in) and for the reference server."""

    def __init__(self, base: str, endpoint: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.endpoint = endpoint
        self.headers = {**headers, "Tus-Resumable": "1.0.0"}

    def _request(
        self, conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        conn.request(method, path, headers={**self.headers, **headers})
        return conn.getresponse()

    def upload(self, path: Path, chunk: int) -> None:
        size = path.stat().st_size
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            meta = "filename " + "YmVuY2gubXA0"  # base64 of "bench.mp4"
            created = self._request(
                conn, "POST", self.endpoint, {"Upload-Length": str(size), "Upload-Metadata": meta}
            )
            created.read()
            if created.status != 201:
                sys.exit(f"creation at {self.port} answered {created.status}")
            location = (
                urlsplit(created.getheader("Location") or "")
                ._replace(scheme="", netloc="")
                .geturl()
            )
            buffer = bytearray(chunk)
            view = memoryview(buffer)
            offset = 0
            with path.open("rb") as source:
                while offset < size:
                    n = source.readinto(view)
                    conn.putrequest("PATCH", location)
                    for name, value in {
                        **self.headers,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                        "Content-Length": str(n),
                    }.items():
                        conn.putheader(name, value)
                    conn.endheaders()
                    conn.send(view[:n])
                    answer = conn.getresponse()
                    body = answer.read()
                    if answer.status != 204:
                        answered = f"answered {answer.status}: {body[:200]!r}"
                        sys.exit(f"PATCH at {offset} (port {self.port}) {answered}")
                    offset = int(answer.getheader("Upload-Offset") or 0)
        finally:
            conn.close()


def _workers(port: int) -> list[int]:
    """The gunicorn workers serving `port`: the children of the master bound to it."""
    master = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gunicorn" in b" ".join(cmdline) and f"127.0.0.1:{port}".encode() in cmdline:
            master = int(entry.name)
            break
    if master is None:
        sys.exit("could not find the gunicorn master process")
    workers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                workers.append(int(entry.name))
    return workers


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0; our own child, so allowed)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssSampler(threading.Thread):
    """Samples the workers' summed RSS, as a second opinion beside VmHWM."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.start_kib = self._total()
        self.peak_kib = self.start_kib
        self._done = threading.Event()

    def _total(self) -> int:
        return sum(_status(pid, "VmRSS") for pid in self.pids)

    def run(self) -> None:
        while not self._done.wait(0.01):
            self.peak_kib = max(self.peak_kib, self._total())

    def stop(self) -> None:
        self._done.set()
        self.join()

    @property
    def growth_kib(self) -> int:
        return self.peak_kib - self.start_kib


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=None, help="turns of each (default 3)")
    parser.add_argument("--quick", action="store_true", help="256 MiB, two rounds")
    figures = run(parser.parse_args())
    print("upload: " + " ".join(f"{k}={v}" for k, v in figures.items()))
