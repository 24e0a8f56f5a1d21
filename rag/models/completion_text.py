"""The text pieces llama-cpp-python's create_completion streams for a list of picked tokens (rag.models.decoding)."""

from __future__ import annotations

from typing import Callable, Sequence


class CompletionText:
    """Turns picked tokens into the stream of text pieces `Llama.create_completion(stream=True)` yields for them:
    the same pieces (a piece per token, multi-byte characters held until whole, text that may open a stop
    string held back), the same stop and length rules, and the final empty piece. A port of its text handling
    (llama-cpp-python 0.3.36, without logprobs), so the caller sees no difference but the speed."""

    def __init__(self, detokenize: Callable[[list[int], list[int] | None], bytes], is_eog: Callable[[int], bool],
                 prompt_tokens: Sequence[int], max_tokens: int | None, n_ctx: int, stop: Sequence[str] = ()):
        self._detokenize, self._is_eog = detokenize, is_eog
        self.prompt = list(prompt_tokens)
        if max_tokens is None or max_tokens <= 0:
            max_tokens = n_ctx - len(self.prompt)
        self.max_tokens = max_tokens if max_tokens + len(self.prompt) < n_ctx else n_ctx - len(self.prompt)
        self.stops = [s.encode("utf-8") for s in stop if s]
        self.tokens: list[int] = []
        self._all_text = b""  # the bytes of every token fed (feed detokenizes them anyway)
        self._returned = 0
        self._multibyte_fix = 0
        self.finish_reason = "length"

    @classmethod
    def for_llama(cls, llm, prompt_tokens: Sequence[int], max_tokens: int | None, stop: Sequence[str] = ()):
        import llama_cpp

        vocab = llm._model.vocab
        return cls(lambda tokens, prev: llm.detokenize(tokens, prev_tokens=prev),
                   lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token)), prompt_tokens, max_tokens,
                   llm.n_ctx(), stop)

    def so_far(self) -> str:
        """The text of every token fed so far (a character still incomplete is left out)."""
        return self._all_text.decode("utf-8", "ignore")

    def feed(self, token: int) -> tuple[list[str], bool]:
        """The pieces this token releases, and whether the completion ends with it."""
        if self._is_eog(token):
            self.finish_reason = "stop"
            return [], True
        self.tokens.append(token)
        all_text = self._all_text = self._detokenize(self.tokens, self.prompt)
        for k, char in enumerate(all_text[-3:]):
            k = 3 - k
            for num, pattern in [(2, 192), (3, 224), (4, 240)]:
                if num > k and pattern & char == pattern:
                    self._multibyte_fix = num - k
        if self._multibyte_fix > 0:
            self._multibyte_fix -= 1
            return [], False  # create_completion `continue`s here: no stop or length check either
        if any(s in all_text for s in self.stops):
            self.finish_reason = "stop"
            return [], True
        pieces = self._release()
        if len(self.tokens) >= self.max_tokens:
            self.finish_reason = "length"
            return pieces, True
        return pieces, False

    def _release(self) -> list[str]:
        pieces: list[str] = []
        remaining = self.tokens[self._returned:]
        remaining_text = self._detokenize(remaining, self.prompt + self.tokens[:self._returned])
        remaining_length = len(remaining_text)
        first_stop_position = 0
        for s in self.stops:
            for i in range(min(len(s), remaining_length), 0, -1):
                if remaining_text.endswith(s[:i]):
                    if i > first_stop_position:
                        first_stop_position = i
                    break
        token_end_position = 0
        while len(remaining) > 0:
            decoded = None
            for i in range(1, len(remaining) + 1):
                try:
                    bs = self._detokenize(remaining[:i], self.prompt + self.tokens[:self._returned])
                    decoded = (i, bs, bs.decode("utf-8"))
                    break
                except UnicodeError:
                    pass
            if decoded is None:
                break
            i, bs, text = decoded
            token_end_position += len(bs)
            if token_end_position > remaining_length - first_stop_position:
                break
            remaining = remaining[i:]
            self._returned += i
            pieces.append(text)
        return pieces

    def finish(self) -> list[str]:
        """The pieces create_completion yields after its loop: held-back text up to any stop string, then ""."""
        pieces: list[str] = []
        remaining = self.tokens[self._returned:]
        remaining_text = self._detokenize(remaining, self.prompt + self.tokens[:self._returned])
        found = [s for s in self.stops if s in remaining_text]
        end = min(remaining_text.index(s) for s in found) if found else len(remaining_text)
        token_end_position = 0
        for token in remaining:
            token_end_position += len(self._detokenize([token], self.prompt + self.tokens[:self._returned]))
            if token_end_position >= end:
                last_text = self._detokenize([token], None)
                if token_end_position == end - 1:
                    break
                self._returned += 1
                pieces.append(last_text[: len(last_text) - (token_end_position - end)].decode("utf-8", errors="ignore"))
                break
            self._returned += 1
            pieces.append(self._detokenize([token], None).decode("utf-8", errors="ignore"))
        pieces.append("")
        return pieces
