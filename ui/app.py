"""The Gradio chat over the same ask path as the CLI: `rag ui` calls launch().

Private by default: bound to 127.0.0.1, no share link unless asked, no analytics or version check, and
fonts served by the app itself, so a page load reaches nothing outside this machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home

import logging  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import gradio as gr  # noqa: E402

from rag.answer.retrieve import Filters  # noqa: E402
from rag.chat import ChatService, model_choices  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.ingest.metadata import parse_date  # noqa: E402
from rag.models.registry import go_offline  # noqa: E402
from rag.sync import start_sync  # noqa: E402
from rag.types import Done, Failed, Quoted, Rewrite, Status, Token  # noqa: E402
from ui import render  # noqa: E402
from ui.timeline import TimelineView, timeline_tab  # noqa: E402
from ui.timeline import wire as wire_timeline  # noqa: E402

log = logging.getLogger(__name__)

ALL_OUTLETS = "All outlets"
ASSETS = Path(__file__).resolve().parent / "assets"
QUEUE_BACKSTOP = 5  # events Gradio's queue accepts beyond ui_queue_size before it refuses on its own
EXAMPLES = ["Who denied the intelligence sharing?", "What happened in the Babil strike?"]


def parse_filters(outlet: str | None, since: str | None, until: str | None) -> Filters:
    """The panel's filters; a date that cannot be read is an error, not silently ignored."""
    dates = {}
    for name, value in (("since", since), ("until", until)):
        value = (value or "").strip()
        if value:
            parsed = parse_date(value)
            if not parsed:
                raise RagError(f"“{value}” in “{name.capitalize()}” is not a date: use YYYY-MM-DD, "
                               "e.g. 2021-02-27.")
            dates[name] = parsed
    if dates.get("since") and dates.get("until") and dates["since"] > dates["until"]:
        raise RagError(f"“Since” ({dates['since']}) is after “Until” ({dates['until']}).")
    outlet = None if not outlet or outlet == ALL_OUTLETS else outlet
    return Filters(outlet, dates.get("since"), dates.get("until"))


def _user_message(question: str) -> dict:
    return {"role": "user", "content": render.esc(question)}


def _assistant_message(html: str) -> dict:
    return {"role": "assistant", "content": html}


def documents_label(count: int) -> str:
    return f"Documents ({count})"


@dataclass
class View:
    """The page's components that the handlers read or update."""

    chat: gr.Chatbot
    turns: gr.State  # [{"question", "standalone", "answer"}] of this browser tab
    pending: gr.State  # the question on its way from the text box to the model
    question: gr.Textbox
    send: gr.Button
    stop: gr.Button
    clear: gr.Button
    model: gr.Dropdown
    k: gr.Slider
    outlet: gr.Dropdown
    since: gr.Textbox
    until: gr.Textbox
    model_status: gr.HTML
    docs_box: gr.Accordion
    docs: gr.HTML
    files: gr.File
    ingest_status: gr.HTML
    timeline: TimelineView


def _chat_column() -> dict:
    with gr.Column(scale=7, min_width=420, elem_id="rag-chat-column"), gr.Tabs(elem_id="rag-tabs"):
        with gr.Tab("Chat", elem_id="rag-chat-tab"):
            parts = _chat_tab()
        parts["timeline"] = timeline_tab()
    return parts


def _chat_tab() -> dict:
    with gr.Column():
        chat = gr.Chatbot(
            elem_id="rag-chat", label="Chat", show_label=False, height=640, latex_delimiters=[],
            buttons=["copy"], feedback_options=None, group_consecutive_messages=False,
            placeholder="<div class='rag-placeholder'><strong>Ask about the articles in the index.</strong>"
                        "<br>Answers cite passages like [1]; the sources appear under each answer."
                        "<br>Follow-ups such as “How many were killed there?” are understood.</div>",
        )
        with gr.Row(elem_id="rag-input-row"):
            question = gr.Textbox(elem_id="rag-question", show_label=False, scale=8, lines=1, max_lines=4,
                                  placeholder="Ask a question, e.g. " + EXAMPLES[0], autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="rag-send")
            stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="rag-stop", visible=False)
        with gr.Row(elem_id="rag-tools-row"):
            gr.Examples(EXAMPLES, inputs=question, label="Try")
            clear = gr.Button("New conversation", size="sm", variant="secondary", elem_id="rag-clear",
                              scale=0, min_width=160)
    return dict(chat=chat, question=question, send=send, stop=stop, clear=clear)


def _panel(service: ChatService) -> dict:
    config, documents = service.config, service.documents()
    with gr.Column(scale=4, min_width=300, elem_id="rag-panel"):
        with gr.Group():
            model = gr.Dropdown(model_choices(config.model), value=config.model, label="Model",
                                info="One model serves everyone; switching loads it once.", elem_id="rag-model")
            k = gr.Slider(1, 10, value=config.k, step=1, label="Passages per answer (k)", elem_id="rag-k")
            outlet = gr.Dropdown([ALL_OUTLETS] + service.outlets(), value=ALL_OUTLETS, label="Outlet",
                                 elem_id="rag-outlet")
            with gr.Row():
                since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", elem_id="rag-since", min_width=100)
                until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", elem_id="rag-until", min_width=100)
        model_status = gr.HTML(_model_status(service), elem_id="rag-model-status")
        with gr.Accordion(documents_label(len(documents)), open=True, elem_id="rag-docs-accordion") as docs_box:
            docs = gr.HTML(render.documents_html(documents, service.uploads_dir), elem_id="rag-docs")
        # Hidden unless uploads are on: then no browser can add files to the index (the handler refuses too).
        with gr.Accordion("Add articles", open=True, elem_id="rag-upload-accordion",
                          visible=service.uploads_allowed):
            files = gr.File(label="Drop .txt, .md, .html, .pdf or .jsonl files", file_count="multiple",
                            elem_id="rag-upload", height=120)
            ingest_status = gr.HTML("", elem_id="rag-ingest-status")
    return dict(model=model, k=k, outlet=outlet, since=since, until=until, model_status=model_status,
                docs_box=docs_box, docs=docs, files=files, ingest_status=ingest_status)


def layout(service: ChatService) -> View:
    """The page, inside an open gr.Blocks: chat on the left, settings, documents and uploads on the right."""
    turns, pending = gr.State([]), gr.State("")
    with gr.Row(elem_id="rag-header"):
        gr.HTML('<div class="rag-title">rag-news</div>'
                '<div class="rag-subtitle">Questions answered from your news articles, with the passages '
                "that back them. Runs on this machine; nothing is sent anywhere.</div>")
    with gr.Row(equal_height=False):
        chat_parts = _chat_column()
        panel_parts = _panel(service)
    return View(turns=turns, pending=pending, **chat_parts, **panel_parts)


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "default"


class Handlers:
    """What the page's events do; one instance per app, shared by every browser tab."""

    def __init__(self, service: ChatService, view: View):
        self.service, self.view = service, view
        self.stops: dict[str, bool] = {}  # session -> Stop was pressed during its answer
        self.demo: gr.Blocks | None = None

    def waiting(self) -> int:
        """Events waiting in Gradio's queue (questions, model switches, uploads), not counting the running one."""
        queue = getattr(self.demo, "_queue", None)  # Gradio keeps the count but offers no public accessor
        return len(queue) if queue is not None else 0

    def take_question(self, message, history):
        """Show the question at once, even while the model is busy with someone else's; refuse when too many wait.

        Refused, the question stays in the text box, the chat says why, and nothing is queued (admit stops the
        chain). Once queued, Gradio shows the person their place ("queue: 3/10") over the chat.
        """
        text = (message or "").strip()
        if not text:
            return gr.update(), history, "", gr.update(), gr.update()
        waiting = self.waiting()
        if waiting >= self.service.config.ui_queue_size:
            history = list(history or []) + [_user_message(text), _assistant_message(render.busy_html(waiting))]
            return message, history, "", gr.update(), gr.update()
        history = list(history or []) + [_user_message(text),
                                         _assistant_message(render.streaming_html("", "Waiting for the model…"))]
        return (gr.update(value="", interactive=False), history, text, gr.update(visible=False),
                gr.update(visible=True))

    @staticmethod
    def admit(text):
        """Let a question through to the model's queue; without one (empty, or refused) end the chain quietly."""
        if not text:
            raise gr.Error("no question", visible=False, print_exception=False)

    def respond(self, text, history, state, model_name, k_value, outlet_name, since_text, until_text,
                request: gr.Request):
        session = _session(request)
        history = list(history or [])
        if not text:
            yield history, state, ""
            return
        history = history[:-1]  # the "Waiting" placeholder
        if self.stops.get(session):  # Stop was pressed while the question waited for the model
            yield history + [_assistant_message(render.stopped_html(""))], state, ""
            return
        self.stops[session] = False
        try:
            filters = parse_filters(outlet_name, since_text, until_text)
        except RagError as exc:
            yield history + [_assistant_message(render.error_html(str(exc)))], state, ""
            return
        past = [(t["standalone"], t["answer"]) for t in state]
        events = self.service.ask(text, past, model_name, k_value, filters)
        try:
            for content, state in self._contents(events, session, text, state):
                yield history + [_assistant_message(content)], state, ""
        finally:
            events.close()
            self.stops.pop(session, None)

    def _contents(self, events, session: str, text: str, state: list) -> Iterator[tuple[str, list]]:
        """(the answer's HTML so far, the conversation state) for each event of one streamed answer."""
        turn, partial, rewritten, quotes = len(state) + 1, "", None, []
        for event in events:
            if self.stops.get(session):
                events.close()  # ends the generation and frees the model for the next question
                yield render.stopped_html(partial, rewritten), state
                return
            if isinstance(event, Status):
                content = render.streaming_html(partial, event.text, rewritten, quotes)
            elif isinstance(event, Quoted):
                quotes.append((event.n, event.sentence))
                content = render.streaming_html(partial, "Writing the answer…", rewritten, quotes)
            elif isinstance(event, Rewrite):
                rewritten = event.question if event.changed else None
                content = render.streaming_html(partial, "Searching the articles…", rewritten)
            elif isinstance(event, Token):
                partial += event.text
                content = render.streaming_html(partial, "", rewritten, quotes)
            elif isinstance(event, Done):
                answer = event.answer
                content = render.answer_html(answer, turn, rewritten)
                state = state + [{"question": text, "standalone": answer.question, "answer": answer.text}]
            elif isinstance(event, Failed):
                content = render.error_html(event.message)
            else:
                continue  # the evidence found (Retrieved) shows through the status line
            yield content, state

    def stop_answer(self, request: gr.Request):
        self.stops[_session(request)] = True

    def unlock(self, request: gr.Request):
        self.stops.pop(_session(request), None)
        return gr.update(interactive=True), gr.update(visible=True), gr.update(visible=False)

    def switch_model(self, name):
        generator = self.service.generator
        if name == generator.loaded:
            return _model_status(self.service), gr.update()
        try:
            generator.use(name)
        except RagError as exc:
            # The model in service stays; the menu goes back to it.
            return render.error_html(str(exc)), gr.update(value=generator.name)
        return _model_status(self.service), gr.update()

    def add_articles(self, paths, outlet_name, progress=gr.Progress()):
        if not paths:
            return gr.update(), gr.update(), gr.update(), gr.update(), None
        progress(0, desc="Saving the files")

        def on_file(done: int, total: int, path: Path) -> None:
            progress((done, max(total, 1)), desc=f"Reading {path.name}", unit="files")

        try:
            uploads, report = self.service.add_files(paths, on_file)  # refuses when uploads are off
        except RagError as exc:
            return render.error_html(str(exc)), gr.update(), gr.update(), gr.update(), None
        progress(1.0, desc="Indexed")
        docs, docs_box, outlet, *_ = self.refresh(outlet_name)
        return render.upload_report_html(uploads, report), docs, docs_box, outlet, None

    def refresh(self, outlet_name):
        current = self.service.documents()
        outlets = [ALL_OUTLETS] + self.service.outlets()
        return (render.documents_html(current, self.service.uploads_dir),
                gr.Accordion(label=documents_label(len(current))),
                gr.Dropdown(choices=outlets, value=outlet_name if outlet_name in outlets else ALL_OUTLETS),
                gr.Dropdown(value=self.service.generator.name), _model_status(self.service))

    def wire(self, demo: gr.Blocks) -> None:
        """Connect the events; answers and model loads queue on the one model, one at a time."""
        v, self.demo = self.view, demo
        for trigger in (v.question.submit, v.send.click):
            trigger(self.take_question, [v.question, v.chat], [v.question, v.chat, v.pending, v.send, v.stop],
                    queue=False).success(self.admit, v.pending, None, queue=False).success(
                self.respond, [v.pending, v.chat, v.turns, v.model, v.k, v.outlet, v.since, v.until],
                [v.chat, v.turns, v.pending], concurrency_id="model", concurrency_limit=1, show_progress="minimal",
            ).then(self.unlock, None, [v.question, v.send, v.stop], queue=False)
        v.stop.click(self.stop_answer, None, None, queue=False)
        v.clear.click(lambda: ([], [], ""), None, [v.chat, v.turns, v.question], queue=False)
        v.chat.clear(lambda: [], None, v.turns, queue=False)
        v.model.change(self.switch_model, v.model, [v.model_status, v.model], concurrency_id="model",
                       concurrency_limit=1, show_progress="minimal")
        wire_timeline(v.timeline, self.service, parse_filters, v.outlet, v.since, v.until)
        v.files.upload(self.add_articles, [v.files, v.outlet], [v.ingest_status, v.docs, v.docs_box, v.outlet, v.files],
                       concurrency_id="ingest", concurrency_limit=1)
        demo.load(self.refresh, v.outlet, [v.docs, v.docs_box, v.outlet, v.model, v.model_status], queue=False,
                  show_progress="hidden")


def build(service: ChatService) -> gr.Blocks:
    """The chat app: the layout, with the handlers wired to it."""
    with gr.Blocks(title="rag-news", analytics_enabled=False) as demo:
        Handlers(service, layout(service)).wire(demo)
    return demo


def _model_status(service: ChatService) -> str:
    loaded = service.generator.loaded
    state = f"{render.esc(loaded)} is loaded" if loaded else f"{render.esc(service.generator.name)} loads on first use"
    return f'<div class="rag-model-status">{state} · index: {render.esc(service.index_label)}</div>'


def _read_asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def launch(config: Config, host: str = "127.0.0.1", port: int = 7860, share: bool = False, *,
           auth: list[tuple[str, str]] | None = None, prevent_thread_lock: bool = False,
           service: ChatService | None = None, warm_up: bool = True, quiet: bool = False,
           on_sync=None) -> gr.Blocks:
    """Serve the chat on host:port (localhost unless told otherwise); returns the app when not blocking.

    `auth`: (user, password) pairs that Gradio's login page accepts; None: no login. At most
    config.ui_queue_size questions wait for the model; Gradio shows each person their place and refuses
    one more with "busy, try again". `prevent_thread_lock=True` returns at once with the server running in
    the background (tests); stop it with `demo.close()`.
    """
    go_offline()
    service = service or ChatService(config)
    if warm_up:
        service.warm_up(model=False)  # embedder and index now: a request never races to load them twice
        threading.Thread(target=service.warm_up_model, name="rag-load-model", daemon=True).start()
    demo = _queued(service)
    syncing = start_sync(config, service, on_sync)
    try:
        demo.launch(server_name=host, server_port=port, share=share, inbrowser=False,
                    prevent_thread_lock=prevent_thread_lock, quiet=quiet, **_page_options(auth))
    finally:
        if syncing and not prevent_thread_lock:
            syncing.stop()
    return demo


def mount(app, service: ChatService, path: str = "/", auth: list[tuple[str, str]] | None = None) -> gr.Blocks:
    """Serve the chat inside another FastAPI app (`rag serve`), on `service`'s model; the app's server runs it."""
    go_offline()
    demo = _queued(service)
    gr.mount_gradio_app(app, demo, path, **_page_options(auth))
    return demo


def _queued(service: ChatService) -> gr.Blocks:
    demo = build(service)
    # take_question refuses politely at ui_queue_size; Gradio's own limit is a backstop for requests that race
    # past that check or come by hand (it refuses with a "busy" notice but leaves the question box locked).
    demo.queue(default_concurrency_limit=1, max_size=service.config.ui_queue_size + QUEUE_BACKSTOP)
    return demo


def _page_options(auth: list[tuple[str, str]] | None) -> dict:
    """What launch() and mount() both give Gradio: the login, no share/MCP/SSR, the page's look."""
    return dict(auth=auth, auth_message="rag-news: log in to ask about the articles." if auth else None,
                show_error=True, ssr_mode=False, mcp_server=False, max_file_size="50mb", theme=_theme(),
                css=_read_asset("style.css"), head=f"<script>{_read_asset('chat.js')}</script>",
                footer_links=["settings"])


def _theme() -> gr.themes.Base:
    # System fonts only: nothing for the browser to fetch from a font service.
    sans = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
            "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=sans, font_mono=mono)
