"""Prompt-lookup drafting: the n-gram lookup and the accept/reject logic against a scripted fake model (fast), and
drafted against plain greedy decoding with the real tiny model, grammar and seed-article prompts (integration)."""

from __future__ import annotations

import random

import pytest

from rag.models.decoding import CompletionText, DraftStats, NgramIndex, speculative_greedy

# --- the n-gram lookup ---------------------------------------------------------------------------------------

def test_draft_continues_the_latest_earlier_occurrence_of_the_longest_suffix():
    index = NgramIndex([1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 0, 2, 3], max_ngram=3, min_ngram=1)
    # The suffix 2-gram (2, 3) occurred at 1-2 and at 6-7: the latest one's followers come first.
    assert index.draft(3) == [7, 8, 0]
    index.append(4)  # the suffix (2, 3, 4) matches the older occurrence only at length 3
    assert index.draft(4) == [5, 9, 2, 3]


def test_longer_match_beats_a_more_recent_shorter_one():
    index = NgramIndex([5, 6, 7, 1, 9, 9, 7, 2, 5, 6, 7], max_ngram=3, min_ngram=1)
    # (5, 6, 7) occurred at 0-2 (then 1); (7,) alone last occurred at 6 (then 2).
    assert index.draft(2) == [1, 9]


def test_no_occurrence_no_draft_and_limits():
    index = NgramIndex([1, 2, 3], max_ngram=2, min_ngram=1)
    assert index.draft(5) == []  # 3 never occurred before the end
    index.append(1)
    assert index.draft(5) == [2, 3, 1]  # the draft may run up to the end
    assert index.draft(1) == [2]
    assert index.draft(0) == [] and index.draft(-2) == []


def test_min_ngram_refuses_single_token_matches():
    tokens = [4, 1, 2, 8, 1]
    assert NgramIndex(tokens, max_ngram=3, min_ngram=1).draft(2) == [2, 8]
    assert NgramIndex(tokens, max_ngram=3, min_ngram=2).draft(2) == []
    with pytest.raises(ValueError):
        NgramIndex(tokens, max_ngram=2, min_ngram=3)


def test_incremental_index_equals_one_built_at_once():
    rng = random.Random(4)
    tokens = [rng.randrange(6) for _ in range(300)]
    grown = NgramIndex(tokens[:10], min_ngram=1)
    for i, token in enumerate(tokens[10:], start=10):
        assert grown.draft(7) == NgramIndex(tokens[:i], min_ngram=1).draft(7) == _brute_force_draft(tokens[:i], 7)
        grown.append(token)


def _brute_force_draft(tokens: list[int], limit: int, max_ngram: int = 3) -> list[int]:
    for n in range(min(max_ngram, len(tokens)), 0, -1):
        suffix = tokens[len(tokens) - n:]
        for start in range(len(tokens) - n - 1, -1, -1):  # latest earlier occurrence with a follower
            if tokens[start:start + n] == suffix:
                return tokens[start + n:start + n + limit]
    return []


# --- accept / reject against a scripted model ----------------------------------------------------------------

class ScriptedModel:
    """A 'model' whose greedy pick is a function of the tokens read so far; it records every decode and pick."""

    def __init__(self, prompt: list[int], script, n_ctx: int = 10_000):
        self.context = list(prompt)  # what the KV cache would hold
        self.script, self.n_ctx = script, n_ctx
        self.base = len(prompt) - 1  # the prompt's last token has logits
        self.decodes: list[list[int]] = []
        self.seen: list[list[int]] = []  # the tokens read before each pick (what the grammar saw, in order)
        self.longest = len(self.context)

    def pick(self, row: int) -> int:
        read = self.context[: self.base + (row if row >= 0 else len(self.context) - 1 - self.base) + 1]
        self.seen.append(list(read))
        return self.script(read)

    def decode(self, tokens: list[int]) -> None:
        self.base = len(self.context)
        self.context.extend(tokens)
        self.decodes.append(list(tokens))
        self.longest = max(self.longest, len(self.context))

    def keep(self, n: int) -> None:
        del self.context[self.base + n:]

    def room(self) -> int:
        return self.n_ctx - len(self.context)


def plain_greedy(prompt: list[int], script, end: int | None, max_tokens: int) -> list[int]:
    context, out = list(prompt), []
    while len(out) < max_tokens:
        token = script(context)
        out.append(token)
        if token == end:
            break
        context.append(token)
    return out


def run_drafted(prompt, script, end, max_tokens, max_draft=8, **kwargs):
    model, stats = ScriptedModel(prompt, script, **kwargs), DraftStats()
    out = []
    for token in speculative_greedy(model, prompt, max_draft, max_tokens=max_tokens, stats=stats):
        out.append(token)
        if token == end or len(out) >= max_tokens:
            break
    return out, model, stats


EVIDENCE = [50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65]


def copier(prompt_len: int, diverge_at: dict[int, int] | None = None, end: int = 0, length: int = 40):
    """Writes 7 7, then copies the evidence from its start, except at the output positions in `diverge_at`
    (which then follow their own copy), and ends after `length` tokens."""
    diverge_at = diverge_at or {}

    def script(read: list[int]) -> int:
        written = read[prompt_len:]
        position = len(written)
        if position >= length:
            return end
        if position in diverge_at:
            return diverge_at[position]
        if position < 2:
            return 7
        last = written[-1]
        return last + 1 if last + 1 in EVIDENCE or last in EVIDENCE[:-1] else EVIDENCE[0]

    return script


PROMPT = [1, 2, 3, 7, *EVIDENCE, 4, 5]


@pytest.mark.parametrize("diverge", [{}, {5: 99}, {3: 7, 9: 42, 10: 43}, {i: 90 + i for i in range(2, 30, 3)}])
@pytest.mark.parametrize("max_draft", [1, 4, 8, 16])
def test_drafted_equals_plain_greedy(diverge, max_draft):
    script = copier(len(PROMPT), diverge)
    expected = plain_greedy(PROMPT, script, 0, 100)
    out, model, stats = run_drafted(PROMPT, script, 0, 100, max_draft)
    assert out == expected
    # Every pick saw exactly the tokens plain decoding had read at that point: the grammar sees them in order.
    assert [s[len(PROMPT):] for s in model.seen] == [expected[:i] for i in range(len(expected))]
    assert stats.picks == len(expected) and stats.accepted <= stats.drafted


def test_copying_is_drafted_in_batches():
    script = copier(len(PROMPT), length=30)
    out, model, stats = run_drafted(PROMPT, script, 0, 100, max_draft=8)
    assert out == plain_greedy(PROMPT, script, 0, 100)
    assert stats.accepted > 20 and len(model.decodes) < 10  # far fewer decodes than the 31 picks
    assert stats.drafted_share == stats.accepted / stats.picks


def test_rejected_tail_leaves_the_context():
    script = copier(len(PROMPT), {6: 99}, length=12)
    model, stats = ScriptedModel(PROMPT, script), DraftStats()
    picks = speculative_greedy(model, PROMPT, 8, stats=stats)
    out = []
    for token in picks:
        out.append(token)
        written = model.context[len(PROMPT):]
        assert written[:len(out) - 1] == out[:-1]  # what was read is what was picked (and drafts in flight)
        if token == 99:  # the model's own pick where the draft said 7: the drafted tail is gone
            assert written == out[:-1]
        if token == 0:
            break
    assert out == plain_greedy(PROMPT, script, 0, 100)
    assert stats.drafted > stats.accepted  # the draft after 99 was wrong


def test_max_tokens_bounds_the_drafts():
    script = copier(len(PROMPT), length=60)
    for max_tokens in (1, 2, 3, 7, 12):
        out, model, stats = run_drafted(PROMPT, script, 0, max_tokens, max_draft=16)
        assert out == plain_greedy(PROMPT, script, 0, max_tokens)
        # Nothing is drafted that a pick within max_tokens could not use.
        assert model.longest - len(PROMPT) <= max_tokens - 1


def test_context_room_bounds_the_drafts():
    script = copier(len(PROMPT), length=60)
    out, model, _ = run_drafted(PROMPT, script, 0, 10, max_draft=16, n_ctx=len(PROMPT) + 10)
    assert model.longest <= len(PROMPT) + 10
    assert out == plain_greedy(PROMPT, script, 0, 10)


def test_stopping_early_decodes_nothing_more():
    script = copier(len(PROMPT), length=60)
    model = ScriptedModel(PROMPT, script)
    picks = speculative_greedy(model, PROMPT, 8)
    first = [next(picks) for _ in range(3)]
    decodes = len(model.decodes)
    picks.close()
    assert first == plain_greedy(PROMPT, script, 0, 3) and len(model.decodes) == decodes


def test_proposed_drafts_are_checked_like_any_draft():
    """The caller's own guesses (the rest of a quote) go before the n-gram lookup, drafting or not, and are kept
    only as far as they are the model's picks: right, wrong from the start, wrong halfway, or too long."""
    script = copier(len(PROMPT), {9: 99}, length=20)
    expected = plain_greedy(PROMPT, script, 0, 100)
    # After the n-th token: right until the model strays at 9, wrong from the start, right until the model ends.
    guesses = {3: EVIDENCE[1:9], 11: [70, 71], 12: EVIDENCE[2:12]}
    for max_draft in (0, 4):
        model, stats = ScriptedModel(PROMPT, script), DraftStats()
        out: list[int] = []
        picks = speculative_greedy(model, PROMPT, max_draft, max_tokens=100, stats=stats,
                                   propose=lambda: list(guesses.get(len(out), [])))
        for token in picks:
            out.append(token)
            if token == 0:
                break
        assert out == expected
        assert [s[len(PROMPT):] for s in model.seen] == [expected[:i] for i in range(len(expected))]
        assert (stats.proposed, stats.accepted) == (8 + 2 + 10, 6 + 0 + 8)
        if max_draft == 0:  # only the guesses were drafted
            assert [len(d) for d in model.decodes if len(d) > 1] == [9, 3, 11]


def test_max_tokens_and_the_context_bound_the_guesses():
    """A guess longer than what max_tokens or the context can still take is cut; the text is plain greedy's."""
    script = copier(len(PROMPT), length=60)
    # (max_tokens given to the loop, the context's size, where the consumer stops: as CompletionText does)
    for max_tokens, n_ctx, stop in ((3, 10_000, 3), (7, 10_000, 7), (12, 10_000, 12), (None, len(PROMPT) + 9, 9)):
        model, out = ScriptedModel(PROMPT, script, n_ctx=n_ctx), []
        picks = speculative_greedy(model, PROMPT, 0, max_tokens=max_tokens,
                                   propose=lambda: list(EVIDENCE[len(out) - 2:]) if len(out) > 2 else [])
        for token in picks:
            out.append(token)
            if len(out) >= stop:
                break
        assert out == plain_greedy(PROMPT, script, 0, stop)
        assert model.longest - len(PROMPT) <= stop  # nothing guessed that could not be used


def test_no_draft_means_one_token_steps():
    script = lambda read: 1000 + len(read)  # never repeats anything: nothing to draft
    out, model, stats = run_drafted([1, 2, 3], script, None, 10)
    assert out == plain_greedy([1, 2, 3], script, None, 10)
    assert all(len(d) == 1 for d in model.decodes) and stats.drafted == 0


# --- the streamed text, chunked as create_completion chunks it -----------------------------------------------

VOCAB = {1: b"QUOTE", 2: b" [1]", 3: b": \"", 4: b"caf", 5: b"\xc3", 6: b"\xa9", 7: b"\"\n", 8: b"<|", 9: b"end|>",
         10: b"ANSWER", 0: b""}


def pieces_of(tokens: list[int], max_tokens: int = 100, stop=("<|end|>",)) -> tuple[list[str], str]:
    text = CompletionText(lambda ts, prev: b"".join(VOCAB[t] for t in ts), lambda t: t == 0, [99], max_tokens,
                          1000, stop)
    out = []
    for token in tokens:
        pieces, done = text.feed(token)
        out += pieces
        if done:
            break
    return out + text.finish(), text.finish_reason


def test_pieces_hold_multibyte_characters_and_stop_strings():
    pieces, reason = pieces_of([1, 2, 3, 4, 5, 6, 7, 0])
    assert pieces == ["QUOTE", " [1]", ": \"", "caf", "\u00e9", "\"\n", ""] and reason == "stop"
    pieces, reason = pieces_of([10, 8, 9, 1])
    assert "".join(pieces) == "ANSWER" and pieces[-1] == "" and reason == "stop"


def test_the_text_so_far_is_every_token_fed_without_a_broken_character():
    text = CompletionText(lambda ts, prev: b"".join(VOCAB[t] for t in ts), lambda t: t == 0, [99], 100, 1000)
    assert text.so_far() == ""
    for token, expected in ((1, "QUOTE"), (3, 'QUOTE: "'), (4, 'QUOTE: "caf'), (5, 'QUOTE: "caf'),
                            (6, 'QUOTE: "caf\u00e9'), (0, 'QUOTE: "caf\u00e9')):
        text.feed(token)
        assert text.so_far() == expected


def test_pieces_stop_at_max_tokens():
    pieces, reason = pieces_of([1, 2, 3, 4, 7], max_tokens=3)
    assert pieces == ["QUOTE", " [1]", ": \"", ""] and reason == "length"


# --- with the real tiny model, grammar and seed-article prompts ----------------------------------------------

ANSWER_SHAPE = (r'(QUOTE \[[1-9]\]: "[^"\n]{3,120}"\n){1,2}ANSWER: [^\n\[\];]{2,160} \[[1-9]\]'
                r'(; [^\n\[\];]{2,160} \[[1-9]\])?\.\n|NONE\n')
QUESTIONS = ["Who denied the intelligence sharing?",
             "According to Iraq's Defense Ministry, what is its cooperation with the international coalition limited to?",
             "Which little-known group claimed the February 15 rocket attack?"]


def tiny_generator(cache_dir=None, repack=True, **llama_options):
    """The tiny model as rag loads it (`repack`: its weights laid out for llama.cpp's extra kernels, AMX's among
    them); `llama_options` replace its llama.cpp context (e.g. n_ubatch=1)."""
    import llama_cpp

    from rag.config import Config
    from rag.models.generator import LlamaCppGenerator
    from rag.models.llama_state import LlamaState
    from rag.models.registry import llm_path

    path = llm_path("smollm2-135m", Config().cache_dir)
    # One thread: the tiny model needs no more, and a busy machine cannot stall it at thread barriers.
    generator = LlamaCppGenerator("smollm2-135m", path, n_ctx=4096, threads=1, cache_dir=cache_dir, repack=repack)
    if llama_options:
        generator._llm = llama_cpp.Llama(str(path), n_ctx=4096, n_threads=1, n_threads_batch=1, verbose=False,
                                         **llama_options)
        generator._state = LlamaState(generator._llm)
    return generator


@pytest.fixture(scope="module")
def seed_prompts(tmp_path_factory):
    """(messages, grammar) of the sample questions, built by the pipeline from the seed articles."""
    from rag.answer.assistant import Assistant
    from rag.config import Config
    from rag.ingest.pipeline import ingest
    from tests.conftest import SEEDS
    from tests.fakes import FakeEmbedder

    if not SEEDS.is_dir():
        pytest.skip(f"sample corpus not found at {SEEDS}")
    tmp = tmp_path_factory.mktemp("drafting")
    config = Config(index_dir=str(tmp / "index"), cache_dir=str(tmp / "cache"), model="smollm2-135m")
    embedder = FakeEmbedder()
    ingest([SEEDS], config, embedder)
    assistant = Assistant(config, embedder=embedder, generator=tiny_generator())
    prompts = [assistant.prompt_for(question, asked_on="2024-06-01") for question in QUESTIONS]
    return [messages for messages, _ in prompts], prompts[0][1]


@pytest.mark.integration
def test_greedy_loop_equals_llama_cpp_python_create_completion(seed_prompts):
    """rag's own greedy loop (every answer with temperature 0) against llama-cpp-python's create_completion on the
    default build: the same pieces, token count and log-probabilities, bit for bit, also cut short."""
    import re

    from rag.models.weights import has_amx_kernels

    prompts, grammar = seed_prompts
    # ggml's AMX tiles serve a batch of rows and its VNNI kernels a single row, so where they run two loops that
    # batch the prompt differently round differently: the weights as stored keep them out, and the loops comparable.
    generator = tiny_generator(repack=not has_amx_kernels())
    for number, messages in enumerate(prompts):
        for max_tokens in (1, 9, 200) if number == 0 else (200,):
            ours, our_usage = generate(generator, messages, grammar, draft=0, max_tokens=max_tokens)
            theirs, their_usage = create_completion(generator, messages, grammar, max_tokens)
            assert ours == theirs
            assert our_usage.completion_tokens == their_usage.completion_tokens
            assert our_usage.logprobs == their_usage.logprobs
        assert re.fullmatch(ANSWER_SHAPE, "".join(ours)) and len(our_usage.logprobs) > 10  # the 200-token one


@pytest.mark.integration
def test_drafted_equals_plain_greedy_with_the_tiny_model(seed_prompts):
    """Drafted and plain decoding on batch-invariant numerics: n_ubatch=1 makes llama.cpp compute a batch token by
    token, so a drafted batch's logits are bit for bit those of one-token steps, and any difference would be the
    drafting's own. (With llama.cpp's batch kernels, logits of a batch may differ from a step's in the last bits;
    eval/bench_drafting.py measures what that does to the default model's answers.)"""
    import re

    prompts, grammar = seed_prompts
    generator = tiny_generator(n_ubatch=1)
    accepted = 0
    for number, messages in enumerate(prompts):
        plain, plain_usage = generate(generator, messages, grammar, draft=0)
        drafted, drafted_usage = generate(generator, messages, grammar, draft=10)
        assert drafted == plain  # the same text, in the same pieces
        assert drafted_usage.completion_tokens == plain_usage.completion_tokens
        assert len(drafted_usage.logprobs) == len(plain_usage.logprobs) > 10
        assert drafted_usage.logprobs == pytest.approx(plain_usage.logprobs, abs=1e-3)
        assert re.fullmatch(ANSWER_SHAPE, "".join(drafted))  # the grammar was respected
        accepted += generator.draft_stats.accepted
        # Cut short by max_tokens: the same truncated text and counts.
        for max_tokens in (1, 9) if number == 0 else ():
            short_plain, short_plain_usage = generate(generator, messages, grammar, 0, max_tokens)
            short_drafted, short_drafted_usage = generate(generator, messages, grammar, 10, max_tokens)
            assert short_drafted == short_plain
            assert short_drafted_usage.completion_tokens == short_plain_usage.completion_tokens
            assert short_drafted_usage.logprobs == pytest.approx(short_plain_usage.logprobs, abs=1e-3)
    assert accepted > 50  # quotes were copied through drafts, not token by token


@pytest.mark.integration
@pytest.mark.parametrize("whole_reply", [False, True], ids=["quotes", "reply"])
def test_quote_guesses_equal_plain_greedy_with_the_tiny_model(seed_prompts, whole_reply):
    """The rest of each quote guessed from the shown evidence (rag.answer.quote_drafts), and with `whole_reply`
    the lines' openings and the answer's words too (rag.answer.reply_guesses), each checked in one batch: on
    batch-invariant numerics the same text and log-probabilities as plain greedy decoding."""
    import re

    from rag.answer.quote_drafts import QuoteDrafter
    from rag.answer.reply_guesses import ReplyDrafter

    prompts, grammar = seed_prompts
    generator = tiny_generator(n_ubatch=1)
    proposed = 0
    for messages in prompts:
        plain, plain_usage = generate(generator, messages, grammar, draft=0)
        guess = QuoteDrafter({0: messages[-1]["content"]})  # no passage 0: the quote's words are looked up anywhere
        if whole_reply:
            guess = ReplyDrafter(guess, messages[-1]["content"])
        guessed, guessed_usage = generate(generator, messages, grammar, draft=0, guess=guess)
        assert guessed == plain and guessed_usage.completion_tokens == plain_usage.completion_tokens
        assert guessed_usage.logprobs == pytest.approx(plain_usage.logprobs, abs=1e-3)
        assert re.fullmatch(ANSWER_SHAPE, "".join(guessed))
        proposed += generator.draft_stats.proposed
    assert proposed > 0


@pytest.mark.integration
def test_drafting_with_the_default_build_and_a_saved_prefix_state(seed_prompts, tmp_path):
    """The production setup: llama.cpp's own batches, the prompt prefix restored from a saved state in a fresh
    process. Every answer follows the grammar, and the state file saved by a drafted run serves a plain one."""
    import re

    prompts, grammar = seed_prompts
    first = tiny_generator(cache_dir=tmp_path)
    pieces, usage = generate(first, prompts[0], grammar, draft=10)
    assert re.fullmatch(ANSWER_SHAPE, "".join(pieces)) and usage.completion_tokens > len(pieces) > 10
    assert first.draft_stats.accepted > 0 and first.draft_stats.picks == len(usage.logprobs) + 1
    assert len(list((tmp_path / "prefix-states").glob("*.state"))) == 1
    for messages in prompts[1:2]:  # the context keeps the prefix across questions
        pieces, usage = generate(first, messages, grammar, draft=10)
        assert re.fullmatch(ANSWER_SHAPE, "".join(pieces))
    fresh = tiny_generator(cache_dir=tmp_path)
    pieces, usage = generate(fresh, prompts[0], grammar, draft=10)
    assert fresh.restored_tokens > 100 and re.fullmatch(ANSWER_SHAPE, "".join(pieces))
    plain, _ = generate(tiny_generator(cache_dir=tmp_path), prompts[0], grammar, draft=0)
    assert re.fullmatch(ANSWER_SHAPE, "".join(plain))


def generate(generator, messages, grammar, draft: int, max_tokens: int = 200, guess=None):
    """One answer, the context kept from the previous one (as rag keeps it between questions)."""
    from rag.models.generator import Usage

    generator.draft_tokens = draft
    usage = Usage()
    return list(generator.stream(messages, max_tokens, 0.0, usage, grammar=grammar, guess=guess)), usage


def create_completion(generator, messages, grammar, max_tokens: int):
    """The reference: llama-cpp-python's own greedy completion of the same prompt, with the same recorder."""
    import llama_cpp

    from rag.models.generator import Usage, _TokenLogprobs

    formatted = generator._format(messages=messages)
    llm = generator._llm
    tokens = llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
    stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
    usage, pieces = Usage(), []
    scorer = _TokenLogprobs(usage.logprobs)
    for piece in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, stream=True,
                                       stop=[s for s in stops if s] or None,
                                       grammar=generator._grammar(grammar),
                                       logits_processor=llama_cpp.LogitsProcessorList([scorer])):
        usage.completion_tokens += 1
        if piece["choices"][0]["text"]:
            pieces.append(piece["choices"][0]["text"])
    scorer.finish()
    return pieces, usage
