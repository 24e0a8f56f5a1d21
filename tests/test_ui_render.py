"""Unit tests for ui.render: escaping of untrusted text, highlight selection, citation links, answer states."""

import re

from rag.types import Answer, Citation, Document, Timings
from ui import render

PASSAGE = ("ERBIL - The Iraqi prime minister's office condemned the airstrikes in Babil province. "
           "The US military struck a base of the Popular Mobilization Forces late Tuesday. "
           "Four fighters were killed in the attack, according to media reports.")
SECOND = "Four fighters were killed in the attack"  # the third sentence, as the passage has it
STRUCK = "The US military struck a base of the Popular Mobilization Forces late Tuesday."


def _passage(n=1, text=PASSAGE, title="Iraq condemns strikes", outlet="Rudaw", date="2024-07-31",
             source="/data/rudaw.txt"):
    return Citation(n=n, doc_id=f"d{n}", source=source, title=title, outlet=outlet, date=date,
                    chunk_id=f"d{n}:0", text=text)


def _answer(text, passages, cited=(), abstained=False):
    return Answer(question="q", text=text, abstained=abstained,
                  citations=[p for p in passages if p.n in cited], passages=passages,
                  timings=Timings(total_ms=1234), model="smollm2-135m", embedder="e")


def _marked(html):
    return re.findall(r'<mark class="rag-hl">(.*?)</mark>', html)


# -- highlight selection ----------------------------------------------------------------------------------

def test_the_passage_sentence_with_most_overlap_with_the_citing_sentence_is_highlighted():
    answer = "Four fighters were killed in the US attack [1]."
    spans = render.highlight_spans(PASSAGE, answer, 1)
    assert [PASSAGE[s:e] for s, e in spans] == ["Four fighters were killed in the attack, according to media reports."]


def test_each_citing_sentence_adds_its_best_passage_sentence():
    answer = "The US military struck a PMF base [1]. Four fighters were killed [1]. Iraq objected [2]."
    spans = render.highlight_spans(PASSAGE, answer, 1)
    assert [PASSAGE[s:e] for s, e in spans] == [STRUCK, "Four fighters were killed in the attack, according to media "
                                                        "reports."]


def test_only_sentences_citing_that_passage_count():
    answer = "The prime minister condemned the airstrikes [2]. Four fighters were killed [1]."
    assert [PASSAGE[s:e] for s, e in render.highlight_spans(PASSAGE, answer, 1)] == \
        ["Four fighters were killed in the attack, according to media reports."]
    assert [PASSAGE[s:e] for s, e in render.highlight_spans(PASSAGE, answer, 2)] == \
        ["ERBIL - The Iraqi prime minister's office condemned the airstrikes in Babil province."]
    assert render.highlight_spans(PASSAGE, answer, 3) == []


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it():
    answer = "The US military struck a base. [1] Nothing else was said."
    assert render.answer_sentences(answer) == ["The US military struck a base. [1]", "Nothing else was said."]
    assert [PASSAGE[s:e] for s, e in render.highlight_spans(PASSAGE, answer, 1)] == [STRUCK]


def test_no_shared_words_means_no_highlight():
    assert render.highlight_spans(PASSAGE, "Zorvath's bridge reopened [1].", 1) == []


# -- source cards -----------------------------------------------------------------------------------------

def test_source_card_escapes_untrusted_text_title_and_outlet():
    evil = _passage(text='Officials said <script>alert("x")</script> the strike & the "raid" killed four.',
                    title='<img src=x onerror="alert(1)">Breaking', outlet="<b>Outlet</b>",
                    source="javascript:alert(1)")
    html = render.source_card(evil, turn=3, answer_text="The raid killed four [1].")
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Breaking" in html
    assert "&lt;b&gt;Outlet&lt;/b&gt;" in html
    assert 'href="javascript' not in html


def test_source_card_has_the_anchor_metadata_and_the_highlight_around_the_right_sentence():
    html = render.source_card(_passage(n=2), turn=5, answer_text="The US military struck a base [2].")
    assert 'id="src-5-2"' in html
    assert "Iraq condemns strikes" in html and "Rudaw · 2024-07-31" in html
    assert _marked(html) == [STRUCK]
    assert "rudaw.txt" in html


def test_highlighted_text_is_escaped_too():
    text = "The <i>militia</i> said four fighters were killed. Nothing else."
    html = render.source_card(_passage(text=text), 1, "Four fighters were killed [1].")
    assert _marked(html) == ["The &lt;i&gt;militia&lt;/i&gt; said four fighters were killed."]


def test_missing_outlet_and_date_are_said_plainly():
    html = render.source_card(_passage(outlet=None, date=None), 1)
    assert "unknown outlet · date unknown" in html


def test_passage_paragraphs_become_line_breaks_without_blank_lines():
    html = render.passage_html("First paragraph.\n\nSecond paragraph.\nSame paragraph.")
    assert html == "First paragraph.<br><br>Second paragraph.<br>Same paragraph."
    card = render.source_card(_passage(text="A long first paragraph here.\n\n    Indented second."), 1)
    assert "\n" not in card  # a blank line would end the HTML block in the chat's Markdown


def test_web_sources_link_out_safely():
    html = render.source_card(_passage(source='https://example.org/a?b=1&c="2"'), 1)
    assert 'href="https://example.org/a?b=1&amp;c=&quot;2&quot;"' in html
    assert 'rel="noopener noreferrer"' in html


# -- answers ----------------------------------------------------------------------------------------------

def test_citation_markers_link_to_the_cards_of_that_turn():
    linked = render.link_citations("Killed [1][2]; struck [1, 3]; unknown [9].", turn=4, known={1, 2, 3})
    assert linked.count('href="#src-4-1"') == 2
    assert 'href="#src-4-2"' in linked and 'href="#src-4-3"' in linked
    assert "unknown [9]." in linked


def test_answer_html_escapes_the_answer_and_shows_cited_cards_first():
    passages = [_passage(1), _passage(2, text="Iraq said the strike violated its sovereignty.", title="Sovereignty"),
                _passage(3, text="Unrelated text about oil.", title="Oil")]
    answer = _answer('Four fighters were killed <img src=x onerror=alert(1)> [1].', passages, cited={1})
    html = render.answer_html(answer, turn=2, rewritten="How many were killed in the <Babil> strike?")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="#src-2-1"' in html
    assert "Sources (1)" in html and "Other passages looked at (2)" in html
    assert html.index('id="src-2-1"') < html.index('id="src-2-2"')
    assert "Searched for: “How many were killed in the &lt;Babil&gt; strike?”" in html
    assert "smollm2-135m · 1.2 s" in html
    assert "\n" not in html


def test_an_abstention_says_so_and_still_shows_the_passages_looked_at():
    passages = [_passage(1), _passage(2, title="Other")]
    answer = _answer("I cannot find the answer in the provided articles.", passages, abstained=True)
    html = render.answer_html(answer, turn=1)
    assert "No answer found." in html
    assert "Passages looked at (2)" in html
    assert 'id="src-1-1"' in html and 'id="src-1-2"' in html
    assert "rag-cite" not in html and "<mark" not in html


def test_an_answer_without_citations_shows_the_passages_looked_at():
    html = render.answer_html(_answer("Four were killed.", [_passage(1)]), turn=1)
    assert "passages looked at (1)" in html and 'id="src-1-1"' in html


def test_an_answer_with_no_passages_says_nothing_matched():
    html = render.answer_html(_answer("I cannot find the answer in the provided articles.", [], abstained=True), 1)
    assert "No passage matched" in html


def test_streaming_and_stopped_and_error_states_are_escaped():
    assert "rag-cursor" in render.streaming_html("Four <b>fighters")
    assert "&lt;b&gt;" in render.streaming_html("Four <b>fighters")
    assert "Searching" in render.streaming_html("", "Searching the articles…")
    assert "Stopped." in render.stopped_html("Four <b>")
    assert "&lt;script&gt;" in render.error_html("<script>")


# -- panel ------------------------------------------------------------------------------------------------

def test_documents_table_is_escaped_sorted_newest_first_and_marks_uploads(tmp_path):
    uploads = tmp_path / "uploads"
    docs = [
        Document("a", "/corpus/a.txt", "Old <story>", "text", "Rudaw", "2021-02-27"),
        Document("b", str(uploads / "z.txt"), "Zorvath bridge reopens", "text", None, "2024-03-12"),
        Document("c", "/corpus/c.txt", "Undated & unknown", "text", "ESTA", None),
    ]
    html = render.documents_html(docs, uploads)
    assert "Old &lt;story&gt;" in html and "Undated &amp; unknown" in html
    assert html.index("Zorvath") < html.index("Old &lt;story") < html.index("Undated")
    assert html.count("rag-badge") == 1


def test_empty_documents_table_invites_an_upload():
    assert "No articles indexed yet" in render.documents_html([])


def test_ingest_report_lists_skipped_files_with_their_reasons():
    html = render.ingest_html(["zorvath.txt"], [("<empty>.txt", "empty file")], "Added 1.")
    assert "zorvath.txt" in html and "&lt;empty&gt;.txt" in html and "empty file" in html


def test_upload_report_names_files_as_uploaded_with_skipped_records():
    from pathlib import Path

    from rag.chat import Upload
    from rag.ingest.pipeline import IngestReport

    uploads = [Upload("News.jsonl", Path("/idx/uploads/News.jsonl")), Upload("x.txt", Path("/idx/uploads/x-2.txt")),
               Upload("same.txt", Path("/idx/uploads/same.txt"), duplicate=True)]
    report = IngestReport(added=2, unchanged=1, failed=[("/idx/uploads/News.jsonl#3", 'line 3 has no "text" field'),
                                                        ("/idx/uploads/x-2.txt", "empty file")])
    html = render.upload_report_html(uploads, report)
    assert "Added 2, updated 0, unchanged 1, skipped 2." in html
    assert "<strong>News.jsonl#3</strong>: line 3 has no &quot;text&quot; field" in html
    assert "<strong>x.txt</strong>: empty file" in html
    assert "<li>News.jsonl</li>" in html and "<li>same.txt (already there)</li>" in html
    assert "<li>x.txt</li>" not in html
