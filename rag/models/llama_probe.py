"""Check once per llama.cpp build, model and CPU that reading a real prompt does not kill the process.

A llama.cpp compiled with instructions the CPU (or its hypervisor) does not run dies with SIGILL on the first
prompt batch, taking the whole process down without a word. So before a model is loaded in-process, a child
process reads a prompt of a few hundred tokens with it; the result is kept under the cache's `probes/` folder,
keyed by the library files, the model file and the CPU flags, so the check costs time once. The child does it
with the weights in both layouts llama.cpp can use (rag.models.llama_layout), so both sets of kernels are
checked, and it times them: `llama_repack = "auto"` takes the one that answers sooner on this machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import ModelError

PROMPT_TOKENS = 320  # a batch of this size goes through the matrix kernels a real prompt uses
STEPS = 12  # tokens then written one at a time, to time a step
TIMEOUT_SECONDS = 600
_PROSE = ("The ministry said on Thursday that the strikes had hit two buildings near the border crossing, and a "
          "monitoring group put the number of dead at seventeen, while local officials gave a higher figure. ")


class LlamaCrashError(ModelError):
    """llama.cpp killed a test process with a signal while reading a prompt: the build does not suit this CPU."""


@dataclass(frozen=True)
class ProbeResult:
    """What one probe child did: finished, died from a signal, or failed in an ordinary way."""

    ok: bool
    signal: str | None = None  # "SIGILL" when the child was killed by that signal
    detail: str = ""  # the child's report, or the last lines it wrote to stderr
    seconds: float = 0.0
    checked: str = ""  # when, YYYY-MM-DD HH:MM
    library: str = ""  # which llama.cpp build it probed (a digest of library_identity())


def crash_message(signal_name: str, model: Path) -> str:
    if signal_name == "SIGILL":
        return ("llama.cpp on this machine crashed with SIGILL while reading a prompt (an instruction this CPU "
                "does not run): rebuild it with `make rebuild-llama`.")
    return (f"llama.cpp on this machine crashed with {signal_name} while reading a prompt with {model.name}: "
            "rebuild it with `make rebuild-llama`; if that does not help, the model file may be damaged "
            f"(delete {model} if it is in rag-news's cache, and it is assembled again).")


def library_files() -> list[Path]:
    """The shared libraries of the installed llama-cpp-python (llama.cpp and ggml), found without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(list(spec.submodule_search_locations)[0])
    return sorted(p for p in package.rglob("*") if p.suffix == ".so" or ".so." in p.name)


def library_identity() -> str:
    """The installed llama.cpp libraries by name, size and modification time (a rebuild changes it)."""
    files = library_files()
    return ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files) or "llama_cpp missing"


def library_digest() -> str:
    return hashlib.sha256(library_identity().encode()).hexdigest()[:12]


def _cpu_flags() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    return next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")


def record_path(model: Path, cache_dir: Path) -> Path:
    stat = model.stat()
    key = hashlib.sha256(f"{library_identity()}|{model.resolve()}:{stat.st_size}:{stat.st_mtime_ns}|"
                         f"{_cpu_flags()}".encode()).hexdigest()[:16]
    return Path(cache_dir) / "probes" / f"{model.stem}-{key}.json"


def run_probe(model: Path, command: list[str] | None = None, timeout: float = TIMEOUT_SECONDS) -> ProbeResult:
    """Read a prompt with `model` in a child process (or run `command` instead) and say how the child ended."""
    command = command or [sys.executable, "-m", "rag.models.llama_probe", str(model)]
    started = time.monotonic()
    when = time.strftime("%Y-%m-%d %H:%M")
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "PYTHONFAULTHANDLER": ""})
    except subprocess.TimeoutExpired:
        return ProbeResult(False, None, f"no answer within {timeout:.0f} s", timeout, when)
    seconds = round(time.monotonic() - started, 2)
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        return ProbeResult(False, name, _tail(child.stderr), seconds, when)
    if child.returncode != 0:
        return ProbeResult(False, None, _tail(child.stderr), seconds, when)
    return ProbeResult(True, None, child.stdout.strip()[-500:], seconds, when)


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_llama_runs(model: Path, cache_dir: Path, command: list[str] | None = None) -> ProbeResult:
    """Probe `model` unless this build, model and CPU were probed before; LlamaCrashError if the child crashed.

    A child that fails without a signal (say, a file llama.cpp cannot read) is not recorded: loading the model
    in-process then reports that error in its own words.
    """
    path = record_path(Path(model), Path(cache_dir))
    if path.is_file():
        try:
            result = ProbeResult(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            result = None  # a damaged record: probe again
        if result is not None and (result.ok or result.signal):
            if result.signal:
                raise LlamaCrashError(crash_message(result.signal, Path(model)))
            return result
    result = run_probe(Path(model), command)
    if result.ok or result.signal:
        write_record(path, result)
    if result.signal:
        raise LlamaCrashError(crash_message(result.signal, Path(model)))
    return result


def write_record(path: Path, result: ProbeResult) -> None:
    """Keep a probe's result where `ensure_llama_runs` looks for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    partial.write_text(json.dumps({**asdict(result), "library": library_digest()}) + "\n")
    os.replace(partial, path)


def probe_records(cache_dir: Path) -> list[tuple[str, ProbeResult]]:
    """The probes recorded under this cache for the installed llama.cpp, as (model file stem, result), newest first."""
    found, current = [], library_digest()
    for path in sorted((Path(cache_dir) / "probes").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            result = ProbeResult(**json.loads(path.read_text()))
        except (ValueError, TypeError, OSError):
            continue
        if result.library == current:
            found.append((path.stem.rsplit("-", 1)[0], result))
    return found


def _child(model: str) -> int:
    """The probe itself, in the child: for each weights layout (llama.cpp's default, repacked, first), load the
    model, read PROMPT_TOKENS tokens in one batch and write STEPS one at a time; print the timings as JSON."""
    layouts = {name: _time_layout(model, repack) for name, repack in (("on", True), ("off", False))}
    print(json.dumps({"prompt_tokens": PROMPT_TOKENS, "layouts": layouts}))
    return 0


def _time_layout(model: str, repack: bool) -> dict:
    """Load, prompt and step timings of the model with its weights repacked or not (rag.models.llama_layout)."""
    import llama_cpp

    from rag.models.llama_layout import weights_layout

    started = time.monotonic()
    with weights_layout(repack):
        llm = llama_cpp.Llama(model, n_ctx=1024, n_batch=512, n_threads=os.cpu_count() or None, verbose=False)
    loaded = time.monotonic()
    tokens = llm.tokenize((_PROSE * 12).encode(), add_bos=True)[:PROMPT_TOKENS]
    llm.eval(tokens)
    read = time.monotonic()
    for _ in range(STEPS):
        llm.eval([llm.sample(temp=0.0)])
    written = time.monotonic()
    llm.close()
    return {"load_s": round(loaded - started, 3), "prompt_tokens_per_s": round(len(tokens) / (read - loaded), 1),
            "step_ms": round((written - read) * 1000 / STEPS, 1)}


def system_info() -> str:
    """llama.cpp's own list of the features it was compiled with ("" without llama-cpp-python)."""
    try:
        import llama_cpp
    except ImportError:
        return ""
    info = llama_cpp.llama_print_system_info()
    return (info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)).strip()


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
