"""Errors the library raises; each message tells the user what to do next."""


class RagError(Exception):
    """Base class: the CLI prints the message and exits non-zero."""


class ConfigError(RagError):
    """A setting in rag.toml, the environment or a flag is invalid; `settings` names the ones at fault."""

    def __init__(self, message: str, settings: tuple[str, ...] = ()):
        super().__init__(message)
        self.settings = settings


class IndexMissingError(RagError):
    """There is no index where one was expected."""


class IndexMismatchError(RagError):
    """The index was built with another embedder or an unknown format."""


class IndexDamagedError(RagError):
    """A file of the index is missing or no longer matches what was written; the message names a fallback."""


class StoreError(RagError):
    """The index's database could not be reached or answered with an error."""


class ModelError(RagError):
    """A model could not be found, assembled, verified or loaded."""


class IngestError(RagError):
    """Nothing could be ingested, or an input path does not exist."""


class UnsupportedFileError(RagError):
    """A single file cannot be read; the ingest skips it and goes on."""


class ModelServerError(ModelError):
    """An OpenAI-compatible model server (`--model http://...`) answered with an error the others do not cover."""


class ModelServerUnreachable(ModelServerError):
    """Nothing listens at the model server's address (connection refused, unknown host)."""


class ModelServerTimeout(ModelServerError):
    """The model server sent nothing for longer than model_timeout seconds."""


class ModelServerAuthError(ModelServerError):
    """The model server refused the API key (401/403)."""


class ModelServerBusy(ModelServerError):
    """The model server kept answering 429 (or 503) after the retries."""


class ModelServerFailed(ModelServerError):
    """The model server failed (a 5xx), or stopped in the middle of an answer."""


class ModelServerDisconnected(ModelServerFailed):
    """The model server closed the connection before the answer was complete (it stopped or restarted)."""
