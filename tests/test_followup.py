"""Unit tests for rag.answer.followup: follow-up detection, the model rewrite with a fake generator, the fallback."""

import pytest

from rag.answer.followup import (
    Rewrite,
    acceptable,
    build_messages,
    clean_output,
    fallback,
    load_template,
    looks_like_followup,
    parse_template,
    rewrite,
    topic_of,
)
from rag.errors import ModelError

BABIL = [("What happened in the Babil strike?", "The US military struck a PMF base in Babil province [1].")]


class FakeGenerator:
    """Streams a canned reply piece by piece and records what it was asked and whether it was closed."""

    name = "fake"

    def __init__(self, reply="", error=None):
        self.reply, self.error = reply, error
        self.calls: list[list[dict]] = []
        self.pieces_sent = 0
        self.closed = False

    def count_tokens(self, text):
        return len(text.split())

    def stream(self, messages, max_tokens, temperature, usage):
        self.calls.append(messages)
        assert temperature == 0.0 and max_tokens <= 64  # a short, deterministic call
        if self.error:
            raise self.error
        try:
            for word in self.reply.split(" "):
                self.pieces_sent += 1
                yield word + " "
        finally:
            self.closed = True


@pytest.mark.parametrize("question", [
    "How many were killed there?", "What did they say about it?", "Who condemned that?",
    "What about the Pentagon?", "And the casualties?", "Why?", "When was this?", "Did she deny those claims?",
])
def test_follow_up_questions_are_recognised(question):
    assert looks_like_followup(question)


@pytest.mark.parametrize("question", [
    "Who denied the intelligence sharing?", "Which province was targeted by the US airstrikes?",
    "Who said that Iraq shared intelligence with the Pentagon?", "",
])
def test_standalone_questions_are_left_alone(question):
    assert not looks_like_followup(question)


def test_no_history_means_no_rewrite_and_no_model_call():
    generator = FakeGenerator("How many were killed in the Babil strike?")
    result = rewrite([], "How many were killed there?", generator)
    assert result == Rewrite("How many were killed there?", "How many were killed there?", "unchanged")
    assert not result.changed
    assert generator.calls == []


def test_a_standalone_question_with_history_is_not_sent_to_the_model():
    generator = FakeGenerator("anything")
    assert rewrite(BABIL, "Who denied the intelligence sharing?", generator).question == \
        "Who denied the intelligence sharing?"
    assert generator.calls == []


def test_the_model_rewrites_a_follow_up_from_the_history():
    generator = FakeGenerator("How many were killed in the US strike on the Babil province base?")
    result = rewrite(BABIL, "How many were killed there?", generator)
    assert result.method == "model" and result.changed
    assert result.question == "How many were killed in the US strike on the Babil province base?"
    prompt = generator.calls[0][-1]["content"]
    assert "Q: What happened in the Babil strike?" in prompt
    assert "Follow-up question: How many were killed there?" in prompt
    assert "[1]" not in prompt  # citation markers are noise to the rewriter
    assert generator.closed  # the stream was closed: a real model would otherwise stay locked


def test_generation_stops_after_the_first_line():
    generator = FakeGenerator("How many were killed in the Babil strike?\nThe answer is four fighters killed there")
    result = rewrite(BABIL, "How many were killed there?", generator)
    assert result.question == "How many were killed in the Babil strike?"
    assert generator.pieces_sent < len(generator.reply.split(" "))
    assert generator.closed


@pytest.mark.parametrize("reply", [
    "",  # nothing
    "   \n  ",  # whitespace
    "Four fighters were killed in the attack.",  # an answer, not a question
    "How many were killed there?",  # the question copied
    "How many were killed in the US strike on the Babil base?",  # the prompt's example copied
    "What is the capital of France?",  # off topic: loses what was asked
    "<|im_end|>",  # template tokens only
])
def test_unusable_model_output_falls_back_to_the_last_topic(reply):
    result = rewrite(BABIL, "How many were killed there?", FakeGenerator(reply))
    assert result.method == "fallback"
    assert result.question == "How many were killed there (the Babil strike)?"


def test_a_model_error_falls_back_instead_of_failing():
    result = rewrite(BABIL, "How many were killed there?", FakeGenerator(error=ModelError("boom")))
    assert result.question == "How many were killed there (the Babil strike)?"


def test_without_a_generator_the_fallback_is_used():
    assert rewrite(BABIL, "What about the Pentagon?", None).question == \
        "What about the Pentagon (the Babil strike)?"


def test_the_rewriter_reads_the_last_question_as_rewritten():
    history = BABIL + [("How many were killed in the Babil strike?", "Four fighters were killed [1].")]
    result = rewrite(history, "Who claimed that?", FakeGenerator(""))
    assert result.question == "Who claimed that (the Babil strike)?"


@pytest.mark.parametrize("question, topic", [
    ("What happened in the Babil strike?", "the Babil strike"),
    ("Who condemned the airstrikes in Babil province?", "the airstrikes in Babil province"),
    ("When did the Zorvath bridge reopen?", "the Zorvath bridge"),
    ("When did the bridge in Zorvath reopen?", "the bridge in Zorvath"),
    ("Why did the US strike Iraqi militias?", "the US strike Iraqi militias"),
    ("Who denied the intelligence sharing?", "the intelligence sharing"),
    ("How did the Pentagon respond?", "the Pentagon"),
    ("Why?", ""),
])
def test_topic_of_finds_the_key_noun_phrase(question, topic):
    assert topic_of(question) == topic


def test_fallback_does_not_repeat_a_topic_already_in_the_question():
    assert fallback(BABIL, "How many were killed in the Babil strike then?") == \
        "How many were killed in the Babil strike then?"


def test_clean_output_keeps_the_first_question_only():
    assert clean_output('Rewritten question: "How many were killed in Babil?" Four.\nMore') == \
        "How many were killed in Babil?"
    assert clean_output("<|im_start|>assistant\nWhat did Iraq say?") == "assistant"
    assert clean_output("\n\n") == ""


def test_acceptable_needs_a_question_that_keeps_the_ask_and_adds_context():
    assert acceptable("How many were killed in Babil?", "How many were killed there?", BABIL)
    assert not acceptable("How many were killed?", "How many were killed there?", BABIL)  # nothing added
    assert not acceptable("Four were killed in Babil.", "How many were killed there?", BABIL)  # an answer


def test_the_bundled_template_has_examples_as_chat_turns():
    template = load_template()
    roles = [m["role"] for m in parse_template(template)]
    assert roles[0] == "system" and roles[-1] == "user" and "assistant" in roles
    messages = build_messages(BABIL, "How many were killed  there?", template)
    assert messages[-1]["content"].endswith("Follow-up question: How many were killed there?")
    assert "{history}" not in messages[-1]["content"]


def test_a_plain_template_is_one_user_message(tmp_path):
    (tmp_path / "rewrite.txt").write_text("History {history} / {question} {not a placeholder}", encoding="utf-8")
    template = load_template(tmp_path)
    messages = build_messages(BABIL, "Why?", template)
    assert messages == [{"role": "user", "content": "History Q: What happened in the Babil strike?\n"
                                                     "A: The US military struck a PMF base in Babil province. / "
                                                     "Why? {not a placeholder}"}]


def test_a_prompts_folder_without_the_template_uses_the_bundled_one(tmp_path):
    assert load_template(tmp_path) == load_template()
