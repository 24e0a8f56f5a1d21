"""Placeholder: the Gradio app (launch) is being written."""


def launch(config, host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    raise NotImplementedError
