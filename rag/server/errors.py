"""API errors in OpenAI's JSON shape ({"error": {"message", "type", "param", "code"}}) with their status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ApiError(HTTPException):
    """An error the API answers with; an HTTPException so that FastAPI passes it through body parsing."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(status, message, headers)
        self.message, self.kind, self.code, self.param = message, kind, code, param


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, code=code, param=param)


def too_large(message: str, param: str | None = None) -> ApiError:
    return ApiError(413, message, code="request_too_large", param=param)


def busy(waiting: int, retry_after: int) -> ApiError:
    return ApiError(429, f"The model is busy: {waiting} requests are already waiting. Try again in {retry_after} s.",
                    "rate_limit_error", "queue_full", headers={"Retry-After": str(retry_after)})


def timed_out(seconds: float) -> ApiError:
    return ApiError(504, f"The answer was not ready within the server's limit of {seconds:g} s, waiting for the "
                         "model included, and was stopped (setting serve_timeout).", "timeout_error", "timeout")


def unavailable(message: str, code: str) -> ApiError:
    return ApiError(503, message, "service_unavailable", code, headers={"Retry-After": "30"})


def server_error(message: str) -> ApiError:
    return ApiError(500, message, "server_error", "internal_error")


_KINDS = {401: "authentication_error", 404: "invalid_request_error", 405: "invalid_request_error"}


async def _api_error(request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, ApiError):
        body = error_body(exc.message, exc.kind, exc.code, exc.param)
    else:  # Starlette's own: unknown route, wrong method
        body = error_body(str(exc.detail), _KINDS.get(exc.status_code, "invalid_request_error"))
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"msg": "The request body is not valid.", "loc": ()}
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(where) or None
    message = f"{param}: {first['msg']}" if param else str(first["msg"])
    return JSONResponse(error_body(message, "invalid_request_error", "invalid_value", param), 400)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(f"Something went wrong: {type(exc).__name__}.", "server_error", "internal_error"),
                        500)


def install(app: FastAPI) -> None:
    """Answer every error of `app` (not of apps mounted in it) in OpenAI's shape."""
    app.add_exception_handler(HTTPException, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _unexpected)
