"""Starting `rag serve`: one process with one loaded model serves the API and the chat page on one port."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Callable, Iterator

from rag.config import Config
from rag.errors import RagError
from rag.server.auth import check_exposure, is_loopback
from rag.server.context import ServerContext, make_service
from rag.sync import start_sync

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 5


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything loads, so that a taken port is a quick, clear error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise RagError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}): is another server using the port? "
                       "Pick another with --port.") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def local_url(sock: socket.socket) -> str:
    """The address a client on this machine uses: an any-address bind is reached through loopback."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build(ctx: ServerContext, chat: bool = True, chat_auth: list[tuple[str, str]] | None = None):
    """The app: the API, and the chat page at / unless `chat` is off."""
    from rag.server.app import create_app

    app = create_app(ctx)
    if chat:
        from ui.app import mount

        mount(app, ctx.service, "/", auth=chat_auth)
    return app


def chat_allowed(host: str, chat_auth: list | None) -> bool:
    """The chat page has no API key; off the loopback it is served only behind its own login."""
    return is_loopback(host) or bool(chat_auth)


@contextlib.contextmanager
def running(app, sock: socket.socket, quiet: bool = True) -> Iterator[str]:
    """uvicorn serving `app` on `sock` in a background thread (tests, the load script); yields the URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning" if quiet else "info", lifespan="on",
                                           timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="rag-serve", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    if not server.started:
        raise RagError("The server did not start; see the log above.")
    try:
        yield local_url(sock)
    finally:
        server.should_exit = True
        thread.join(GRACEFUL_SHUTDOWN_S + 5)
        sock.close()


def serve(config: Config, host: str, port: int, api_key: str | None, *, chat: bool = True,
          chat_auth: list[tuple[str, str]] | None = None, on_ready: Callable[[str, bool], None] | None = None,
          on_sync: Callable | None = None) -> None:
    """Serve until SIGINT/SIGTERM: publish the server for `rag ask`, load the model in the background, and with
    config.sync_every, sync the sources in the background (rag.sync)."""
    import uvicorn

    from rag.models.registry import go_offline
    from rag.server.discovery import describe, publish, withdraw

    check_exposure(host, api_key)
    go_offline()
    sock = bind(host, port)
    ctx = ServerContext(make_service(config), api_key=api_key)
    ctx.warm_up()
    threading.Thread(target=ctx.service.warm_up_model, name="rag-load-model", daemon=True).start()
    chat = chat and chat_allowed(host, chat_auth)
    app = build(ctx, chat, chat_auth)
    url = local_url(sock)
    state = publish(config, describe(config, url, bool(api_key)))
    syncing = start_sync(config, ctx.service, on_sync)
    try:
        if on_ready:
            on_ready(url, chat)
        uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="on",
                                      timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)).run(sockets=[sock])
    finally:
        if syncing:
            syncing.stop()
        withdraw(state)
        sock.close()

