"""A real `rag serve` app on uvicorn (127.0.0.1, a free port) over fakes or real models, for the server's tests."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace

from rag.config import Config
from rag.models.generator import Usage
from rag.server.context import ServerContext, make_service
from rag.server.run import bind, build, running
from tests.fakes import DENIAL, FakeGenerator


class GatedGenerator(FakeGenerator):
    """Writes its first piece, then empty pieces (a model thinking) until `gate` opens, then the rest; records
    starts and streams closed before their end."""

    def __init__(self, reply=DENIAL, name="gated-llm"):
        super().__init__(reply, name)
        self.gate = threading.Event()
        self.started = threading.Event()
        self.closed_early = threading.Event()
        self.starts = 0

    def stream(self, messages, max_tokens, temperature, usage: Usage, grammar=None, prefill="", guess=None):
        self.starts += 1
        pieces = list(super().stream(messages, max_tokens, temperature, usage, grammar, prefill, guess))
        try:
            for i, piece in enumerate(pieces):
                if i == 1:
                    self.started.set()
                    for _ in range(1000):
                        if self.gate.wait(0.02):
                            break
                        yield ""
                yield piece
        except GeneratorExit:
            self.closed_early.set()
            raise


@dataclass
class Served:
    url: str
    ctx: ServerContext

    @property
    def config(self) -> Config:
        return self.ctx.config


@contextlib.contextmanager
def serving(config: Config, api_key: str | None = None, chat: bool = False, **settings):
    """The server over `config` (with `settings` on top) until the block ends."""
    config = replace(config, **settings)
    ctx = ServerContext(make_service(config), api_key=api_key)
    ctx.warm_up()
    with running(build(ctx, chat=chat), bind("127.0.0.1", 0)) as url:
        yield Served(url, ctx)


CODEWORDS = ("zorblax", "quintar", "velmora", "dravik", "ostrel", "plenum")


def echo_reply(messages) -> str:
    """An answer naming the codeword its question carries: answers that mixed would name another question's."""
    asked = messages[-1]["content"].lower()
    word = next((w for w in CODEWORDS if w in asked), "nothing")
    return f'QUOTE [1]: "The ministry denied its involvement in the airstrikes"\nANSWER: About {word} [1].\n'
