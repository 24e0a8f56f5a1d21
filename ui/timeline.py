"""The chat page's Timeline tab: a story's events in date order, each opening its articles (rag.timeline)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from rag.chat import ChatService
from rag.errors import RagError
from ui import render


@dataclass
class TimelineView:
    query: gr.Textbox
    show: gr.Button
    events: gr.HTML


def timeline_tab() -> TimelineView:
    """The tab's components, inside an open gr.Tabs."""
    with gr.Tab("Timeline", elem_id="rag-timeline-tab"):
        with gr.Row():
            query = gr.Textbox(show_label=False, scale=8, lines=1, elem_id="rag-timeline-query",
                               placeholder="A story, e.g. US strikes on Iran-backed militias")
            show = gr.Button("Show timeline", variant="primary", scale=1, min_width=140, elem_id="rag-timeline-show")
        gr.Markdown("The articles about the story, grouped into events in date order (the panel's outlet and "
                    "dates apply). Open an event to read its articles.", elem_classes="rag-hint")
        events = gr.HTML("", elem_id="rag-timeline")
    return TimelineView(query, show, events)


def show_timeline(service: ChatService, parse_filters, query, outlet, since, until) -> str:
    """The timeline's HTML, or the reason there is none."""
    try:
        return render.timeline_html(service.timeline(query or "", parse_filters(outlet, since, until)))
    except RagError as exc:
        return render.error_html(str(exc))


def wire(view: TimelineView, service: ChatService, parse_filters, outlet, since, until) -> None:
    """No model is involved: timelines run beside answers, two at a time."""
    def run(query, outlet_name, since_text, until_text):
        return show_timeline(service, parse_filters, query, outlet_name, since_text, until_text)

    for trigger in (view.query.submit, view.show.click):
        trigger(run, [view.query, outlet, since, until], view.events, concurrency_id="timeline",
                concurrency_limit=2, show_progress="minimal")
