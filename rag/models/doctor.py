"""What llama.cpp on this machine was built with and whether it runs: the facts `rag doctor` shows."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Config
from rag.models.llama_build import (
    amx_count,
    cpu_description,
    installed_build,
    libraries_listing,
    unmended_tile_configs,
)
from rag.models.llama_layout import choose_layout, measured_speeds
from rag.models.llama_probe import (
    ProbeResult,
    library_files,
    probe_records,
    record_path,
    run_probe,
    system_info,
    write_record,
)


@dataclass(frozen=True)
class LlamaReport:
    """The CPU, the installed llama.cpp build and the probes recorded for it."""

    cpu_model: str
    cores: int
    cpu_flags: tuple[str, ...]
    version: str | None  # of llama-cpp-python; None when it is not installed
    wheel: str | None  # where the installed wheel came from (a file:// URL when rag-news built it)
    build: dict | None  # rag-news's build record: flags, compiler, key, verification
    system_info: str  # llama.cpp's own list of the features it was compiled with
    amx_instructions: int | None  # in the installed libraries; None when objdump is missing
    libraries: int = 0
    probes: list[tuple[str, ProbeResult]] = field(default_factory=list)
    llama_repack: str = "auto"  # the setting; whether the weights are repacked follows from it and the CPU
    unmended: int | None = None  # AMX tile configurations loaded without their shapes (GCC 12 unmended; they die)

    @property
    def amx_cpu(self) -> bool:
        return any(flag.startswith("amx") for flag in self.cpu_flags)


def llama_report(cache_dir: str | Path, llama_repack: str = "auto") -> LlamaReport:
    """Gather the report; reads the installed libraries with objdump (a second or two)."""
    model, flags = cpu_description()
    installed = installed_build() or {}
    libraries = library_files()
    listing = libraries_listing(libraries) if libraries else None
    return LlamaReport(model, os.cpu_count() or 1, flags, installed.get("version"), installed.get("wheel"),
                       installed.get("build"), system_info(),
                       amx_count(listing), len(libraries),
                       probe_records(Path(cache_dir)), llama_repack,
                       None if listing is None else unmended_tile_configs(listing))


def probe_now(config: Config) -> tuple[Path, ProbeResult]:
    """Probe config.model now (whatever was recorded before) and record the result; returns the model file."""
    from rag.errors import ModelError
    from rag.models.factories import is_model_url
    from rag.models.registry import llm_path

    if is_model_url(config.model):
        raise ModelError(f"{config.model} is a model server: llama.cpp does not run here to be probed. Name a local "
                         "model (rag doctor --probe smollm2-135m), or try the server with rag ask --model URL.")
    path = llm_path(config.model, config.cache_dir)
    result = run_probe(path)
    if result.ok or result.signal:
        write_record(record_path(path, Path(config.cache_dir)), result)
    return path, result


def _layout(setting: str, cpu_flags, measured=None) -> str:
    """How the weights are laid out at load, and why (rag.models.llama_layout)."""
    repacked, why = choose_layout(setting, cpu_flags, measured)
    layout = "repacked for the CPU kernels (AVX2, or AMX tiles where built with them)" if repacked else "not repacked"
    return f"{layout} at load (llama_repack = {setting}{': ' + why if why else ''})"


def report_lines(report) -> list[str]:
    """What `rag doctor` prints, line by line."""
    amx = " ".join(f for f in report.cpu_flags if f.startswith("amx")) or "none"
    vector = " ".join(f for f in report.cpu_flags if not f.startswith("amx"))
    lines = [f"CPU          {report.cpu_model}, {report.cores} cores", f"  vector     {vector}", f"  AMX        {amx}"]
    if report.version is None:
        return lines + ["llama.cpp    llama-cpp-python is not installed: make install"]
    build = report.build
    if build:
        lines += [f"llama.cpp    llama-cpp-python {report.version}, built here by rag-news on {build['built']} "
                  f"(build {build['key']}, {build['compiler']})",
                  f"  flags      {' '.join(build['cmake_args'])}",
                  f"  verified   {build['with_amx_off_flags']}/{build['native_compile_commands']} native compile "
                  f"commands carry {' '.join(build['amx_off_flags']) or 'no extra flags'}"]
    else:
        origin = report.wheel or "a wheel from an index or cache"
        lines += [f"llama.cpp    llama-cpp-python {report.version}, not built by rag-news ({origin}): "
                  "`make rebuild-llama` builds it for this CPU"]
    amx_found = ("not checked (objdump missing)" if report.amx_instructions is None else
                 f"{report.amx_instructions} AMX instructions in its {report.libraries} libraries")
    if report.amx_instructions and not report.amx_cpu:
        amx_found += " (this CPU has no AMX; another CPU would run them)"
    elif report.amx_instructions and report.unmended:
        amx_found += (f"; {report.unmended} tile configurations lack their shapes (GCC 12 unmended): they die on "
                      "the first prompt: make rebuild-llama")
    elif report.amx_instructions:
        amx_found += ", each tile configuration stored whole (mended)"
    lines += [f"  features   {report.system_info}", f"  checked    {amx_found}",
              f"  weights    {_layout(report.llama_repack, report.cpu_flags)}"
              + (" where a model's probe has not timed both layouts" if report.llama_repack == "auto" else "")]
    for model, result in report.probes or []:
        state = "ok" if result.ok else f"CRASHED with {result.signal}" if result.signal else "failed"
        lines.append(f"Probe        {model}: {state} ({result.checked}, {result.seconds} s) {result.detail}".rstrip())
        if (measured := measured_speeds(result.detail)) is not None:
            lines.append(f"  weights    {_layout(report.llama_repack, report.cpu_flags, measured)}")
    if not report.probes:
        lines.append("Probe        none yet: the first answer runs one (or `rag doctor --probe`)")
    return lines
