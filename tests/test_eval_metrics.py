"""Unit tests for rag.evaluation.metrics: verdicts on one answer and their aggregation over hand-made records."""

import pytest

from rag.evaluation.metrics import aggregate, doc_key, gold_text, judge, should_abstain, strip_citations

SEED = "000_b2984dc87e62d731.txt"
OTHER = "003_249214cac3478a04.txt"


def record(kind="single", answers=(("Kirby",),), docs=(SEED,), answer="Kirby said so [1].", abstained=False,
           passages=(SEED,), cited=(SEED,), dangling=(), total_ms=2000.0, prompt_tokens=500, completion_tokens=20,
           first_token_ms=900.0, error=None, k=4, choices=None, answer_index=None):
    answers = [list(g) for g in answers]
    citations = [] if abstained else [{"n": i + 1, "doc": d, "chunk_id": f"c{i}"} for i, d in enumerate(cited)]
    passage_rows = [{"n": i + 1, "doc": d, "title": "t", "outlet": None, "date": None, "chunk_id": f"p{i}"}
                    for i, d in enumerate(passages)]
    verdicts = judge(answer, abstained, answers, kind, list(docs), [c["doc"] for c in citations], list(passages), k,
                     len(dangling), choices, answer_index)
    return {"id": "q", "question": "?", "kind": kind, "answers": answers, "docs": list(docs), "answer": answer,
            "abstained": abstained, "citations": citations, "passages": passage_rows, "dangling": list(dangling),
            "verdicts": verdicts, "error": error,
            "timings": {} if error else {"retrieve_ms": 50.0, "prompt_tokens": prompt_tokens,
                                         "first_token_ms": first_token_ms, "completion_tokens": completion_tokens,
                                         "total_ms": total_ms}}


ABSTAIN = dict(answer="I cannot find the answer in the provided articles.", abstained=True, cited=())


def test_doc_key_uses_the_file_name_for_paths_and_the_normalized_url_for_urls():
    assert doc_key(f"/work/shared/corpus/seeds/{SEED}") == SEED
    assert doc_key("/tmp/run/corpus.jsonl#12") == "corpus.jsonl#12"
    assert doc_key("https://www.cnn.com/2022/06/12/x/index.html/#top") == "https://www.cnn.com/2022/06/12/x/index.html"


def test_strip_citations_keeps_numbers_that_are_not_markers():
    assert strip_citations("It killed 22 people [1][2], not 17 [3, 4].") == "It killed 22 people , not 17 ."


def test_judge_a_passage_number_does_not_match_a_numeric_answer():
    v = judge("One fighter died [1].", False, [["1"]], "single", [SEED], [SEED], [SEED], 4)
    assert v["correct"] is False


def test_judge_correct_answer_with_retrieval_and_citation():
    v = judge("Kataib Hezbollah and Sayyid al-Shuhada [1].", False, [["Kataib Hezbollah"], ["Sayyid al-Shuhada"]],
              "single", [SEED, OTHER], [SEED], [OTHER, SEED], 4, dangling=0)
    assert v["correct"] is True and v["should_abstain"] is False
    assert v["em"] == 0.0 and v["f1"] == pytest.approx(10 / 11)  # "and" is the one extra token
    assert v["recall_at_k"] == 1.0 and v["rr"] == 1.0 and v["retrieval_hit"] is True
    assert v["cites_expected"] is True and v["cited_sentence_share"] == 1.0


def test_judge_unanswerable_is_correct_only_when_abstained():
    assert judge("I cannot find the answer.", True, [], "unanswerable", [], [], [SEED], 4)["correct"] is True
    v = judge("Three pilots [1].", False, [], "unanswerable", [], [SEED], [SEED], 4)
    assert v["correct"] is False and v["em"] is None and v["recall_at_k"] is None


def test_judge_multiple_choice_flags_an_answer_naming_a_wrong_choice_too():
    choices = ["Game of Thrones", "Squid Game", "Friends"]
    v = judge("Squid Game or Friends", False, [["Squid Game"]], "realtimeqa", [], [], [], 4, 0, choices, 1)
    assert v["correct"] is True and v["names_wrong_choice"] is True


def test_judge_multiple_choice_counts_the_right_choice_named_in_other_words():
    choices = ["3", "4", "5", "6"]
    v = judge("Her detention was extended by six months [1].", False, [["6"]], "realtimeqa", [], [], [], 4, 0,
              choices, 3, "How many months was her detention extended?")
    assert v["correct"] is True and v["by_choice"] is True
    v = judge("By 6 months [1].", False, [["6"]], "realtimeqa", [], [], [], 4, 0, choices, 3, "How many months?")
    assert v["correct"] is True and v["by_choice"] is False  # containment: no need of the choice rule
    v = judge("By some months [1].", False, [["6"]], "realtimeqa", [], [], [], 4, 0, choices, 3, "How many months?")
    assert v["correct"] is False and v["by_choice"] is False


def test_should_abstain_and_gold_text():
    assert should_abstain("unanswerable", [["x"]]) and should_abstain("single", [])
    assert not should_abstain("single", [["x"]])
    assert gold_text([["Kadhimi", "al-Kadhimi"], ["Sudani"]]) == "Kadhimi Sudani"


def test_aggregate_counts_an_abstention_on_an_answerable_item_as_wrong():
    records = [record(), record(**ABSTAIN)]
    m = aggregate(records)
    assert m["accuracy"] == 0.5 and m["correct"] == 1 and m["answerable"] == 2
    assert m["abstention_precision"] == 0.0 and m["abstention_recall"] is None
    assert m["abstention_confusion"] == {"abstained_should": 0, "abstained_answerable": 1, "answered_should": 0,
                                         "answered_answerable": 1}
    assert m["error_analysis"]["generation_error"] == 1 and m["error_analysis"]["generation_abstained"] == 1
    assert m["exact_match"] == 0.0  # "Kirby said so" is not exactly "Kirby"
    assert m["f1"] == pytest.approx((2 * (1 / 3) * 1 / (1 / 3 + 1)) / 2)


def test_aggregate_all_abstained():
    records = [record(**ABSTAIN), record(kind="unanswerable", answers=(), docs=(), **ABSTAIN)]
    m = aggregate(records)
    assert m["accuracy"] == 0.0 and m["abstained"] == 2
    assert m["abstention_precision"] == 0.5 and m["abstention_recall"] == 1.0
    assert m["citation_precision"] is None  # no correct answer to judge
    assert m["cited_sentence_share"] is None  # nothing was answered
    assert m["by_kind"]["unanswerable"] == {"n": 1, "correct": 1, "accuracy": 1.0}


def test_aggregate_without_answerable_items():
    records = [record(kind="unanswerable", answers=(), docs=(), **ABSTAIN),
               record(kind="unanswerable", answers=(), docs=(), answer="Three pilots [1].")]
    m = aggregate(records)
    assert m["answerable"] == 0 and m["accuracy"] is None and m["exact_match"] is None and m["f1"] is None
    assert m["abstention_precision"] == 1.0 and m["abstention_recall"] == 0.5
    assert m["recall_at_k"] is None and m["mrr"] is None and m["citation_precision"] is None
    assert m["error_analysis"]["wrong"] == 0


def test_aggregate_dangling_citations_retrieval_and_citation_precision():
    records = [
        record(dangling=(7,), answer="Kirby said so [1]."),  # correct, cites the right doc, one dangling
        record(passages=(OTHER, SEED), cited=(OTHER,), answer="Kirby spoke [1]."),  # correct, cites the wrong doc
        record(passages=(OTHER,), cited=(OTHER,), answer="Ryder spoke [1]."),  # retrieval miss
    ]
    m = aggregate(records)
    assert m["dangling_total"] == 1 and m["dangling_answer_share"] == pytest.approx(1 / 3)
    assert m["citation_precision"] == 0.5
    assert m["recall_at_k"] == pytest.approx(2 / 3) and m["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["error_analysis"] == {"wrong": 1, "retrieval_miss": 1, "generation_error": 0, "generation_abstained": 0,
                                   "no_expected_docs": 0, "failed": 0}


def test_aggregate_cited_sentence_share_over_answered_only():
    records = [record(answer="Kirby said so [1]. He spoke on Friday."), record(**ABSTAIN)]
    assert aggregate(records)["cited_sentence_share"] == 0.5


def test_aggregate_latency_in_seconds_and_tokens_of_model_answers():
    records = [record(total_ms=1000.0 * s, first_token_ms=None if s == 4 else 500.0) for s in (1, 2, 3, 4)]
    records.append(record(prompt_tokens=0, completion_tokens=0, total_ms=5000.0))  # no passages: no model call
    m = aggregate(records)
    assert m["latency_s"]["total"]["p50"] == 3.0
    assert m["latency_s"]["total"]["p95"] == pytest.approx(4.8)
    assert m["latency_s"]["first_token"]["p50"] == 0.5
    assert m["latency_s"]["retrieve"]["mean"] == pytest.approx(0.05)
    assert m["tokens"]["prompt"] == {"mean": 500.0, "p50": 500.0}
    assert m["tokens"]["completion"]["mean"] == 20.0


def test_aggregate_failed_questions_count_wrong_and_are_left_out_of_latency():
    records = [record(), record(answer="", error="ModelError: prompt too long", passages=(), cited=())]
    m = aggregate(records)
    assert m["errors"] == 1 and m["accuracy"] == 0.5
    assert m["error_analysis"]["failed"] == 1 and m["error_analysis"]["retrieval_miss"] == 0
    assert m["latency_s"]["total"]["p50"] == 2.0


def test_aggregate_multiple_choice_strict_accuracy():
    choices = ["Game of Thrones", "Squid Game"]
    records = [record(kind="realtimeqa", answers=(("Squid Game",),), answer="Squid Game [1].", choices=choices,
                      answer_index=1),
               record(kind="realtimeqa", answers=(("Squid Game",),), answer="Squid Game or Game of Thrones [1].",
                      choices=choices, answer_index=1)]
    m = aggregate(records)
    assert m["accuracy"] == 1.0 and m["names_wrong_choice"] == 1 and m["strict_accuracy"] == 0.5
    assert m["right_by_choice"] == 0


def test_rejudge_reads_recorded_answers_again_and_recomputes_the_metrics():
    from rag.evaluation.rejudge import rejudge_results

    choices = ["Game of Thrones", "Squid Game"]
    answered = record(kind="realtimeqa", answers=(("Squid Game",),), answer="The Squid show was renewed [1].",
                      choices=choices, answer_index=1)
    answered |= {"question": "Which show was renewed?", "choices": choices, "answer_index": 1}
    withheld = record(kind="realtimeqa", answers=(("Squid Game",),), answer="", abstained=True, choices=choices,
                      answer_index=1)
    withheld |= {"question": "Which show was renewed?", "choices": choices, "answer_index": 1,
                 "refused": "Squid was renewed [1]."}
    declined = record(kind="unanswerable", answers=(), answer="", abstained=True)
    answered["verdicts"]["correct"] = False  # as an older judge left it
    results = {"configurations": [{"records": [answered, withheld, declined], "metrics": {}}]}
    assert rejudge_results(results) == 2
    config = results["configurations"][0]
    assert [r["verdicts"]["correct"] for r in config["records"]] == [True, False, True]
    assert config["records"][0]["verdicts"]["by_choice"] is True
    assert config["records"][1]["verdicts"]["refused_correct"] is True
    assert config["metrics"]["right_by_choice"] == 1 and config["metrics"]["correct"] == 1
    assert rejudge_results(results) == 0


def test_aggregate_of_nothing():
    m = aggregate([])
    assert m["n"] == 0 and m["accuracy"] is None and m["latency_s"]["total"]["p50"] is None


def test_results_md_marks_a_multiple_choice_run_judged_by_containment_alone():
    from rag.evaluation.rejudge import rejudge_results
    from rag.evaluation.report import CONTAINMENT_NOTE, render_results_md

    old = record(kind="realtimeqa", answers=(("Squid Game",),), answer="Squid Game [1].",
                 choices=["Game of Thrones", "Squid Game"], answer_index=1)
    old |= {"choices": ["Game of Thrones", "Squid Game"], "answer_index": 1}
    del old["verdicts"]["by_choice"]  # as the judge before the choice rule left it
    results = {"meta": {"benchmark": "realtimeqa"},
               "configurations": [{"name": "default", "records": [old], "metrics": aggregate([old])}]}
    assert "| run | realtimeqa† | default |" in render_results_md([("run", results)])
    assert CONTAINMENT_NOTE in render_results_md([("run", results)])
    rejudge_results(results)
    assert "| run | realtimeqa | default |" in render_results_md([("run", results)])
    assert CONTAINMENT_NOTE not in render_results_md([("run", results)])
