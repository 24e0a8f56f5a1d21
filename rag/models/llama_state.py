"""The one place that touches llama-cpp-python's internals: its context's KV state and token bookkeeping.

Saving the state of the prompt's fixed prefix (rules and worked example) lets a fresh `rag ask` process skip
reading it again. llama-cpp-python has no public API for a partial state, so this adapter reaches into
`Llama._ctx.ctx`, `Llama.input_ids` and `Llama.n_tokens`; a new llama-cpp-python release only needs this file
checked.
"""

from __future__ import annotations

import ctypes


class LlamaState:
    """Snapshot and restore the KV cache of a `llama_cpp.Llama` holding a given token prefix."""

    def __init__(self, llm):
        self._llm = llm

    @property
    def tokens_held(self) -> int:
        """How many prompt tokens the context holds now (0 in a fresh process)."""
        return int(self._llm.n_tokens)

    def dump(self, prefix: list[int]) -> bytes:
        """The state with only `prefix` kept in the KV cache (call right after a prompt that starts with it)."""
        import llama_cpp

        ctx = self._llm._ctx
        ctx.kv_cache_seq_rm(-1, len(prefix), -1)  # keep only the shared prefix in the snapshot
        self._llm.n_tokens = len(prefix)
        size = llama_cpp.llama_state_get_size(ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(ctx.ctx, buffer, size)
        return bytes(buffer)[:written]

    def load(self, data: bytes, prefix: list[int]) -> bool:
        """Restore a dump of `prefix`; False (and a clean context) when it came from another llama.cpp build."""
        import llama_cpp

        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_set_data(self._llm._ctx.ctx, buffer, len(data)) != len(data):
            self._llm.reset()
            return False
        self._llm.input_ids[: len(prefix)] = prefix
        self._llm.n_tokens = len(prefix)
        return True
