"""Build llama-cpp-python for this machine: its vector extensions, AMX mended where the CPU has it, verified.

Run from the source tree before the package is installed (`python -m rag.models.llama_build`, what `make install` does);
it needs only the standard library, pip and a C compiler.

Why the mend: `-march=native` on an Intel Xeon with AMX compiles llama.cpp's AMX kernels in, and built by GCC 12
they died with SIGILL on the first prompt: GCC 12's `_tile_loadconfig` tells the optimiser it reads 8 bytes of
the 64-byte tile configuration, so ggml's stores of the tiles' shapes are dropped as dead, the tiles stay
unconfigured and the first `tilezero` is an illegal instruction (seen on the project's Xeon, eval/NOTES.md).
Every compile command pre-includes AMX_MEND, which redefines `_tile_loadconfig` to read all 64 bytes, and the
built library is checked: each `ldtilecfg` must follow stores of the shapes (`unmended_tile_configs`). Why AMX at
all: with the weights as Q8_0 (rag.models.weights) its tile kernels read prompts ~1.6x faster on 2 cores of that
Xeon. On a CPU without AMX, or with `llama_amx = "off"`, AMX is switched off in every spelling instead and the
library must hold no AMX instruction. The wheel is built with pip's cache off and kept in our own cache under a
key made of every input that changes the binary (version, flags, the mend, compiler, CPU), so a wheel built with
other settings is never handed back; the one installed is replaced unless it is exactly the one built for this key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

LLAMA_CPP_VERSION = "0.3.36"  # the version the project is tested with; pyproject.toml pins the same (a test checks)
DISTRIBUTION = "llama-cpp-python"
# Every AMX extension GCC or Clang may know; only those the compiler accepts are passed.
AMX_FEATURES = ("amx-tile", "amx-int8", "amx-bf16", "amx-fp16", "amx-complex", "amx-avx512", "amx-fp8",
                "amx-tf32", "amx-transpose", "amx-movrs")
# Mnemonics that only AMX code contains (objdump spelling); one of them in a library means AMX kernels are in.
AMX_MNEMONICS = re.compile(r"\s(ldtilecfg|sttilecfg|tilerelease|tilezero|tileloadd\w*|tilestored|tdp\w+ps|"
                           r"tdpb[su][su]d|tcmmr?lfp16ps)\s")
# Pre-included in every C and C++ file of an AMX build (see the module's docstring): `ldtilecfg` reads the whole
# 64-byte configuration, so the stores of the tiles' rows and widths before it are kept.
AMX_MEND = """/* rag-news (rag.models.llama_build): GCC 12's _tile_loadconfig reads 8 bytes of the tile configuration. */
#ifndef RAG_NEWS_AMX_MEND_H
#define RAG_NEWS_AMX_MEND_H
#if defined(__AMX_TILE__)
#include <immintrin.h>
#undef _tile_loadconfig
#define _tile_loadconfig(config) __asm__ __volatile__("ldtilecfg %0" : : "m"(*(const char (*)[64])(config)))
#endif
#endif
"""
# The CPU flags that decide what -march=native turns on (and so what the wheel contains).
VECTOR_FLAGS = re.compile(r"^(sse4_2|avx|avx2|fma|f16c|bmi2|avx_vnni|avx512\w*|amx\w*)$")


class BuildError(Exception):
    """The build or its verification failed; the message says what to do."""


@dataclass(frozen=True)
class BuildPlan:
    """Everything that decides the binary, and the cache key derived from it."""

    version: str
    cmake_args: tuple[str, ...]
    compiler: str
    cpu_model: str
    cpu_flags: tuple[str, ...]
    machine: str

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def cache_root() -> Path:
    """Where built wheels are kept: beside the models, under the configured cache folder (`cache_dir`, from
    rag.toml or RAG_CACHE_DIR as everywhere else; the config module needs only the standard library)."""
    from rag.config import load_config

    return Path(load_config().cache_dir).expanduser() / "llama-builds"


def cpu_description(cpuinfo: str | None = None) -> tuple[str, tuple[str, ...]]:
    """The CPU's model name and its vector-extension flags, from /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    flags_line = next((line.split(":", 1)[1] for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    return model, tuple(sorted(f for f in flags_line.split() if VECTOR_FLAGS.match(f)))


def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return f"{cc} (not found)"
    return out.splitlines()[0].strip() if out else cc


def amx_off_flags(cc: str) -> list[str]:
    """`-mno-<amx feature>` for each AMX extension this compiler knows (an unknown flag would fail the build)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "i386"):
        return []
    accepted = []
    for feature in AMX_FEATURES:
        flag = f"-mno-{feature}"
        try:
            probe = subprocess.run([cc, flag, "-x", "c", "-c", "-", "-o", os.devnull], input="int x;\n",
                                   capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            accepted.append(flag)
    return accepted


def wants_amx(cpu_flags: tuple[str, ...], setting: str = "auto") -> bool:
    """Whether to build llama.cpp's AMX kernels: `llama_amx` "on" or "off", or "auto": when the CPU has AMX tiles
    and int8."""
    if setting in ("on", "off"):
        return setting == "on"
    return {"amx_tile", "amx_int8"} <= set(cpu_flags)


def mend_path() -> Path:
    """Where the AMX mend header is written for the compiler (named by its content, so the key follows it)."""
    return cache_root() / f"amx-mend-{hashlib.sha256(AMX_MEND.encode()).hexdigest()[:12]}.h"


def plan(cc: str | None = None, amx: bool | None = None) -> BuildPlan:
    """The build for this machine: native vector extensions; AMX mended where the CPU has it (or `llama_amx`
    says so), else switched off in every spelling."""
    cc = cc or os.environ.get("CC") or "cc"
    model, flags = cpu_description()
    if amx is None:
        from rag.config import load_config

        amx = wants_amx(flags, load_config().llama_amx)
    args = ["-DGGML_NATIVE=ON", "-DCMAKE_VERBOSE_MAKEFILE=ON"]
    if amx:
        include = f"-include {mend_path()}"
        args += [f"-DCMAKE_C_FLAGS={include}", f"-DCMAKE_CXX_FLAGS={include}"]
    else:
        args += ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
        off = " ".join(amx_off_flags(cc))
        if off:
            # GCC and Clang let an explicit -mno-X win over what -march=native implies, whatever the order.
            args += [f"-DCMAKE_C_FLAGS={off}", f"-DCMAKE_CXX_FLAGS={off}"]
    return BuildPlan(LLAMA_CPP_VERSION, tuple(args), compiler_version(cc), model, flags, platform.machine())


def amx_built(p: BuildPlan) -> bool:
    """Whether the plan builds AMX kernels (mended) rather than switching AMX off."""
    return not any(arg.startswith("-DGGML_AMX_INT8=OFF") for arg in p.cmake_args)


def build(p: BuildPlan, root: Path, say=print) -> Path:
    """Compile the wheel with pip's caches off, verify it, and keep it under root/key; returns its folder."""
    root.mkdir(parents=True, exist_ok=True)
    if amx_built(p):
        mend_path().write_text(AMX_MEND, encoding="utf-8")
    staging = Path(tempfile.mkdtemp(prefix=f".{p.key}-", dir=root))
    log_path = staging / "build.log"
    env = {**os.environ, "CMAKE_ARGS": shlex.join(p.cmake_args), "FORCE_CMAKE": "1",
           "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", DISTRIBUTION,
               "-v", "-w", str(staging), f"{DISTRIBUTION}=={p.version}"]
    say(f"Building {DISTRIBUTION} {p.version} for {p.cpu_model} (about 7 minutes, once per machine); "
        f"log: {root / p.key / 'build.log'}")
    started = time.monotonic()
    with log_path.open("w") as log:
        log.write(f"CMAKE_ARGS={env['CMAKE_ARGS']}\n$ {shlex.join(command)}\n")
        log.flush()
        done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise BuildError(f"Building {DISTRIBUTION} failed (exit {done.returncode}); the last lines of "
                         f"{log_path} say why (a C/C++ compiler and cmake are needed).")
    wheel = next(staging.glob("*.whl"))
    listing = wheel_listing(wheel)
    record = {**asdict(p), "key": p.key, "built": time.strftime("%Y-%m-%d %H:%M"),
              "seconds": round(time.monotonic() - started), "wheel": wheel.name, "amx": amx_built(p),
              **check_compile_commands(log_path.read_text(errors="replace"), p),
              "amx_instructions": amx_count(listing),
              "unmended_tile_configs": None if listing is None else unmended_tile_configs(listing)}
    if record["amx_instructions"] and not record["amx"]:
        raise BuildError(f"The built llama.cpp still contains {record['amx_instructions']} AMX instructions "
                         f"although AMX was switched off; see {log_path}.")
    if record["unmended_tile_configs"]:
        raise BuildError(f"The built llama.cpp loads {record['unmended_tile_configs']} AMX tile configurations "
                         f"without their shapes (the mend did not take; it would die with 'Illegal instruction'). "
                         f"Build without AMX: set llama_amx = \"off\" in rag.toml (or RAG_LLAMA_AMX=off) and run "
                         f"`make rebuild-llama`; see {log_path}.")
    (staging / "build.json").write_text(json.dumps(record, indent=2) + "\n")
    target = root / p.key
    try:
        staging.rename(target)
    except OSError:  # another install finished the same build first: keep theirs
        subprocess.run(["rm", "-rf", str(staging)], check=False)
    return target


def check_compile_commands(log: str, p: BuildPlan) -> dict:
    """How many of the CPU backend's compile commands the verbose log shows, and that each carries the plan's
    C flags (AMX switched off, or the mend pre-included)."""
    off = [flag for arg in p.cmake_args if arg.startswith("-DCMAKE_C_FLAGS=") for flag in arg.split("=", 1)[1].split()]
    native = [line for line in log.splitlines() if "-march=native" in line and " -c " in line]
    with_off = [line for line in native if all(flag in line.split() for flag in off)]
    if native and len(with_off) != len(native):
        raise BuildError(f"{len(native) - len(with_off)} of {len(native)} native compile commands lack "
                         f"{' '.join(off)}: the build's flags did not reach the compiler.")
    return {"native_compile_commands": len(native), "with_amx_off_flags": len(with_off), "amx_off_flags": off}


# `ldtilecfg` and the stack slot it loads the 64-byte configuration from (AT&T syntax: offset(%register)).
_TILE_CONFIG_LOAD = re.compile(r"\sldtilecfg\s+(-?0x[0-9a-f]+)?\((%r[sb]p)\)")
_STORE_TO = r",\s*(-?0x[0-9a-f]+)?\({}\)\s*$"


def unmended_tile_configs(listing: str, window: int = 16) -> int:
    """How many `ldtilecfg` in an objdump listing load a configuration with no row or width stored into it in the
    `window` instructions before (bytes 16-63 hold them): GCC 12's unmended build drops those stores."""
    lines = listing.splitlines()
    unmended = 0
    for i, line in enumerate(lines):
        load = _TILE_CONFIG_LOAD.search(line)
        if not load:
            continue
        base, register = int(load.group(1) or "0", 16), load.group(2)
        store = re.compile(_STORE_TO.format(re.escape(register)))
        offsets = [int(found.group(1) or "0", 16) for before in lines[max(0, i - window):i]
                   if (found := store.search(before))]
        unmended += not any(base + 16 <= offset < base + 64 for offset in offsets)
    return unmended


def libraries_listing(paths: list[Path]) -> str | None:
    """objdump's disassembly of these shared libraries; None where objdump is missing."""
    listings = []
    for path in paths:
        try:
            listings.append(subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True,
                                           text=True, timeout=600).stdout)
        except (OSError, subprocess.TimeoutExpired):
            return None
    return "\n".join(listings)


def amx_count(listing: str | None) -> int | None:
    """AMX instructions in an objdump listing (None for no listing: objdump missing)."""
    return None if listing is None else len(AMX_MNEMONICS.findall(listing))


def count_amx_in_libraries(paths: list[Path]) -> int | None:
    """AMX instructions in these shared libraries by objdump; None where objdump is missing."""
    return amx_count(libraries_listing(paths))


def wheel_listing(wheel: Path) -> str | None:
    """The disassembly of a wheel's shared libraries (None without objdump)."""
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if re.search(r"\.so(\.\d+)*$", n)]
        archive.extractall(tmp, members=names)
        return libraries_listing([Path(tmp) / n for n in names])


def installed_build() -> dict | None:
    """The installed llama-cpp-python: its version, and the build record when rag-news built it (else None)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    record_path = Path(url.removeprefix("file://")).parent / "build.json" if url.startswith("file://") else None
    record = json.loads(record_path.read_text()) if record_path and record_path.is_file() else None
    return {"version": dist.version, "wheel": url or None, "build": record}


def install(wheel: Path) -> None:
    """Put this wheel in the running Python's environment in place of whatever llama-cpp-python is there."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                           "--no-cache-dir", str(wheel)])
    if done.returncode != 0:
        raise BuildError(f"Installing {wheel} failed (exit {done.returncode}).")


def ensure(force: bool = False, say=print) -> Path:
    """Build (unless this machine's wheel is cached) and install llama-cpp-python; returns the wheel."""
    p = plan()
    say(f"{DISTRIBUTION} {p.version} for {p.cpu_model}: {' '.join(p.cmake_args)} (build {p.key})")
    folder = cache_root() / p.key
    if force and folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    if not (folder / "build.json").is_file():
        folder = build(p, cache_root(), say)
    wheel = next(folder.glob("*.whl"))
    current = installed_build() or {}
    if current.get("wheel") == wheel.resolve().as_uri() and current.get("version") == p.version:
        say(f"{DISTRIBUTION} {p.version} from build {p.key} is installed.")
        return wheel
    say(f"Installing {wheel.name} from build {p.key}"
        + (f" (replacing {current.get('wheel') or 'a wheel built elsewhere'})" if current else ""))
    install(wheel)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.models.llama_build", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if this machine's wheel is cached")
    parser.add_argument("--plan", action="store_true", help="print the build settings and key, build nothing")
    args = parser.parse_args(argv)
    if args.plan:
        p = plan()
        print(json.dumps({**asdict(p), "key": p.key, "folder": str(cache_root() / p.key)}, indent=2))
        return 0
    try:
        ensure(force=args.force)
    except BuildError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
