"""The llama.cpp build: native, AMX mended or switched off in every compile command, pinned, cached by its settings,
verified."""

from __future__ import annotations

import platform
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from rag.models import llama_build
from rag.models.llama_build import (
    AMX_MNEMONICS,
    BuildError,
    BuildPlan,
    check_compile_commands,
    count_amx_in_libraries,
    cpu_description,
    libraries_listing,
    plan,
    unmended_tile_configs,
    wants_amx,
)
from rag.models.llama_probe import library_files

ROOT = Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")


def test_pyproject_pins_the_version_the_build_makes():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"llama-cpp-python=={llama_build.LLAMA_CPP_VERSION}" in dependencies


@pytest.mark.skipif(not X86 or shutil.which("cc") is None, reason="AMX exists on x86-64 only")
def test_plan_is_native_with_amx_switched_off_for_c_and_cxx():
    p = plan(amx=False)
    assert not llama_build.amx_built(p)
    assert "-DGGML_NATIVE=ON" in p.cmake_args
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(p.cmake_args)
    for language in ("C", "CXX"):
        flags = next(a for a in p.cmake_args if a.startswith(f"-DCMAKE_{language}_FLAGS=")).split("=", 1)[1].split()
        assert {"-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16"} <= set(flags)


def test_plan_with_amx_pre_includes_the_mend_in_c_and_cxx(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    p = plan(amx=True)
    assert llama_build.amx_built(p) and "-DGGML_AMX_INT8=OFF" not in p.cmake_args
    include = f"-include {llama_build.mend_path()}"
    assert {f"-DCMAKE_C_FLAGS={include}", f"-DCMAKE_CXX_FLAGS={include}"} <= set(p.cmake_args)
    assert str(tmp_path) in include and p.key != plan(amx=False).key


def test_amx_is_built_where_the_cpu_has_tiles_and_int8_unless_the_setting_says_otherwise():
    xeon = ("amx_bf16", "amx_int8", "amx_tile", "avx512f")
    assert wants_amx(xeon) and not wants_amx(("avx2", "avx512f"))
    assert not wants_amx(xeon, "off") and wants_amx(("avx2",), "on")


@pytest.mark.skipif(not X86 or shutil.which("g++") is None or shutil.which("objdump") is None,
                    reason="needs g++ and objdump for x86-64")
def test_the_mend_keeps_the_tile_shapes_that_gcc_12_drops(tmp_path):
    """A tile configuration filled then loaded, as ggml does: compiled with the mend, the shapes are stored before
    `ldtilecfg` (GCC 12 without it drops them; a newer compiler keeps them either way)."""
    (tmp_path / "mend.h").write_text(llama_build.AMX_MEND)
    (tmp_path / "config.cpp").write_text(
        "#include <immintrin.h>\n#include <cstdint>\n"
        "struct config_t { uint8_t palette = 0; uint8_t start = 0; uint8_t reserved[14] = {0}; "
        "uint16_t colsb[16] = {0}; uint8_t rows[16] = {0}; };\n"
        "void init(int n) { config_t c; c.palette = 1; c.colsb[0] = 64; c.rows[0] = 16; c.colsb[1] = n; "
        "c.rows[1] = 16; _tile_loadconfig(&c); }\n")
    mended = tmp_path / "libmended.so"
    subprocess.run(["g++", "-O2", "-march=sapphirerapids", "-include", str(tmp_path / "mend.h"), "-shared", "-fPIC",
                    str(tmp_path / "config.cpp"), "-o", str(mended)], check=True)
    listing = libraries_listing([mended])
    assert "ldtilecfg" in listing and unmended_tile_configs(listing) == 0


def test_an_unmended_tile_configuration_is_found_in_objdump_output():
    unmended = ("   8:\tmovb   $0x1,-0x40(%rsp)\n   d:\tvmovdqu8 %ymm0,-0x3f(%rsp)\n  18:\tldtilecfg -0x40(%rsp)\n")
    mended = ("  18:\tmov    %ax,-0x30(%rsp)\n  2c:\tmovb   $0x1,-0x40(%rsp)\n  31:\tmov    %di,-0x2e(%rsp)\n"
              "  3b:\tldtilecfg -0x40(%rsp)\n"
              "85c61:\tvmovdqa %xmm0,0xd0(%rsp)\n85c6a:\tldtilecfg 0xc0(%rsp)\n")
    assert unmended_tile_configs(unmended) == 1 and unmended_tile_configs(mended) == 0


@pytest.mark.skipif(not X86 or shutil.which("cc") is None, reason="needs a C compiler for x86-64")
def test_amx_off_wins_over_march_native_in_the_compiler():
    """The order CMake gives (our flags first, -march=native after) still leaves AMX out."""
    off = llama_build.amx_off_flags("cc")
    macros = subprocess.run(["cc", *off, "-march=sapphirerapids", "-dM", "-E", "-x", "c", "/dev/null"],
                            capture_output=True, text=True, check=True).stdout
    assert "__AMX_INT8__" not in macros and "__AVX512VNNI__" in macros


def test_the_key_changes_with_anything_that_changes_the_binary():
    base = BuildPlan("0.3.36", ("-DGGML_NATIVE=ON",), "gcc 12", "Xeon", ("avx2",), "x86_64")
    variants = [BuildPlan("0.3.35", *list(vars(base).values())[1:]),
                BuildPlan("0.3.36", ("-DGGML_NATIVE=OFF",), "gcc 12", "Xeon", ("avx2",), "x86_64"),
                BuildPlan("0.3.36", ("-DGGML_NATIVE=ON",), "gcc 13", "Xeon", ("avx2",), "x86_64"),
                BuildPlan("0.3.36", ("-DGGML_NATIVE=ON",), "gcc 12", "Xeon", ("amx_tile", "avx2"), "x86_64")]
    assert len({base.key, *(v.key for v in variants)}) == 5
    assert base.key == BuildPlan(*vars(base).values()).key


def test_built_wheels_are_kept_under_the_configured_cache_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for variable in ("RAG_CACHE_DIR", "RAG_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "rag.toml").write_text(f'[rag]\ncache_dir = "{tmp_path / "from-toml"}"\n', encoding="utf-8")
    assert llama_build.cache_root() == tmp_path / "from-toml" / "llama-builds"
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "from-env"))
    assert llama_build.cache_root() == tmp_path / "from-env" / "llama-builds"


def test_cpu_description_reads_model_and_vector_flags():
    cpuinfo = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C\n"
               "flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_vnni amx_tile amx_int8 amx_bf16 hypervisor\n")
    model, flags = cpu_description(cpuinfo)
    assert model == "Intel(R) Xeon(R) Platinum 8488C"
    assert flags == ("amx_bf16", "amx_int8", "amx_tile", "avx", "avx2", "avx512_vnni", "avx512f", "sse4_2")


def _plan_with_off_flags() -> BuildPlan:
    off = "-mno-amx-tile -mno-amx-int8"
    return BuildPlan("v", ("-DGGML_NATIVE=ON", f"-DCMAKE_C_FLAGS={off}", f"-DCMAKE_CXX_FLAGS={off}"), "cc", "cpu",
                     (), "x86_64")


def test_compile_commands_are_counted_and_each_must_carry_the_flags():
    good = ("/usr/bin/c++ -DGGML_USE_OPENMP -mno-amx-tile -mno-amx-int8 -O3 -march=native -c ggml-cpu/ops.cpp\n"
            "/usr/bin/cc -mno-amx-tile -mno-amx-int8 -O3 -march=native -c ggml-cpu/ggml-cpu.c\n"
            "/usr/bin/cc -O3 -c ggml/src/ggml.c\n")
    assert check_compile_commands(good, _plan_with_off_flags()) == {
        "native_compile_commands": 2, "with_amx_off_flags": 2, "amx_off_flags": ["-mno-amx-tile", "-mno-amx-int8"]}
    bad = good + "/usr/bin/c++ -O3 -march=native -c ggml-cpu/amx/mmq.cpp\n"
    with pytest.raises(BuildError, match="1 of 3 native compile commands lack -mno-amx-tile -mno-amx-int8"):
        check_compile_commands(bad, _plan_with_off_flags())


def test_amx_mnemonics_are_recognised_in_objdump_output():
    listing = ("  4011a0:\tldtilecfg (%rdi)\n  4011a5:\ttileloadd (%rsi,%rdx,1),%tmm0\n"
               "  4011b0:\ttdpbssd %tmm2,%tmm1,%tmm0\n  4011c0:\ttdpbf16ps %tmm2,%tmm1,%tmm0\n"
               "  4011d0:\tvpdpbusd %zmm1,%zmm2,%zmm3\n  4011e0:\tvmovdqu64 (%rax),%zmm0\n")
    assert [m.group(1) for m in AMX_MNEMONICS.finditer(listing)] == ["ldtilecfg", "tileloadd", "tdpbssd", "tdpbf16ps"]


@pytest.mark.skipif(not X86 or shutil.which("cc") is None or shutil.which("objdump") is None,
                    reason="needs cc and objdump for x86-64")
def test_the_verifier_finds_amx_in_a_library_that_has_it(tmp_path):
    source = tmp_path / "amx.c"
    source.write_text("#include <immintrin.h>\nvoid load(const void *p) { _tile_loadd(0, p, 64); _tile_release(); }\n")
    with_amx = tmp_path / "libwith.so"
    without = tmp_path / "libwithout.so"
    subprocess.run(["cc", "-O2", "-mamx-tile", "-shared", "-fPIC", str(source), "-o", str(with_amx)], check=True)
    (tmp_path / "plain.c").write_text("int add(int a, int b) { return a + b; }\n")
    subprocess.run(["cc", "-O2", "-march=native", "-shared", "-fPIC", str(tmp_path / "plain.c"), "-o", str(without)],
                   check=True)
    assert count_amx_in_libraries([with_amx]) == 2  # tileloadd, tilerelease
    assert count_amx_in_libraries([without]) == 0


@pytest.mark.skipif(not library_files() or shutil.which("objdump") is None, reason="llama-cpp-python not installed")
def test_the_installed_llama_cpp_came_from_this_build_with_amx_mended_or_absent():
    """What `make install` put in place: rag-news's own verified wheel, not one from a cache or an index; AMX
    kernels only where the CPU has AMX, and then every tile configuration stored whole."""
    installed = llama_build.installed_build()
    assert installed["version"] == llama_build.LLAMA_CPP_VERSION
    assert installed["build"] is not None, f"llama-cpp-python was not installed by rag.models.llama_build: {installed}"
    record = installed["build"]
    listing = libraries_listing(library_files())
    assert unmended_tile_configs(listing) == 0
    if record.get("amx"):
        assert record["amx_instructions"] > 0 and record["unmended_tile_configs"] == 0
    else:
        assert record["amx_instructions"] == 0 and count_amx_in_libraries(library_files()) == 0
    if X86:
        assert record["native_compile_commands"] > 0
        assert record["with_amx_off_flags"] == record["native_compile_commands"]
