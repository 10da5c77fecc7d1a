"""moto in-process with the sandbox's FPGA extensions, and failures injected through botocore's event hooks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from fpgaops.aws.session import AwsClients, AwsSettings
from fpgaops.sandbox.cloud import ingestion
from fpgaops.sandbox.cloud.server import install_cloud_extensions

REGION = "us-east-1"
AFI_PENDING_S = 0.2


@contextlib.contextmanager
def moto_cloud(afi_pending_s: float = AFI_PENDING_S) -> Iterator[AwsClients]:
    """moto (in this process) extended as the sandbox's endpoint is: FPGA images, Developer AMIs, spot prices."""
    saved_env = {key: os.environ.get(key) for key in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
        "MOTO_EC2_LOAD_DEFAULT_AMIS")}
    saved_pending = ingestion._pending_seconds
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})
    for key in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(key, None)
    try:
        with mock_aws():
            install_cloud_extensions(None, afi_pending_s)
            yield AwsClients(AwsSettings(region=REGION))
    finally:
        ingestion.set_pending_seconds(saved_pending)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def client_error(code: str, message: str, operation: str) -> ClientError:
    """The ClientError AWS's answer with this code would raise."""
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                       operation)


class Injected:
    """Hooks registered on a client, removed by ``remove()`` (or as a context manager)."""

    def __init__(self, client: Any):
        self.client = client
        self.hooks: list[tuple[str, Callable[..., Any]]] = []
        self.calls: dict[str, list[dict]] = {}

    def on(self, event: str, handler: Callable[..., Any]) -> Injected:
        self.client.meta.events.register(event, handler)
        self.hooks.append((event, handler))
        return self

    def fail(self, operation: str, code: str, message: str = "injected", times: int | None = 1,
             when: Callable[[dict], bool] | None = None) -> Injected:
        """Make the next ``times`` calls (all if None) of ``operation`` whose API params satisfy ``when`` fail."""
        left = [times]

        def handler(params: dict, **_: Any) -> None:
            if (when is None or when(params)) and left[0] != 0:
                if left[0] is not None:
                    left[0] -= 1
                raise client_error(code, message, operation)

        return self.on(f"provide-client-params.{self._service}.{operation}", handler)

    def throttle(self, operation: str, times: int = 1) -> Injected:
        """Answer the next ``times`` HTTP requests of ``operation`` with a throttling error (botocore retries them)."""
        sent = self.calls.setdefault(f"throttled {operation}", [])

        def handler(request: Any, **_: Any) -> AWSResponse | None:
            if len(sent) >= times:
                return None
            sent.append({"url": request.url})
            body = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded'
                    b'</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID>'
                    b'</Response>')
            return AWSResponse(request.url, 503, {}, _Raw(body))

        return self.on(f"before-send.{self._service}.{operation}", handler)

    def count(self, operation: str) -> list[dict]:
        """Record the params of every call of ``operation``; returns the list that fills up."""
        calls = self.calls.setdefault(operation, [])

        def handler(params: dict, **_: Any) -> None:
            calls.append(params)

        self.on(f"provide-client-params.{self._service}.{operation}", handler)
        return calls

    def answer(self, operation: str, parsed: dict | Callable[[dict], dict | None]) -> Injected:
        """Answer calls of ``operation`` with ``parsed`` (or ``parsed(body)``, body the query's fields; None lets
        the call through)."""

        def handler(params: dict, **_: Any) -> tuple[Any, dict] | None:
            reply = parsed(params.get("body") or {}) if callable(parsed) else parsed
            if reply is None:
                return None
            return _Http(), {"ResponseMetadata": {"HTTPStatusCode": 200}, **reply}

        return self.on(f"before-call.{self._service}.{operation}", handler)

    def after(self, operation: str, change: Callable[[dict], None]) -> Injected:
        """Change the parsed reply of ``operation`` in place."""

        def handler(parsed: dict, **_: Any) -> None:
            if "Error" not in parsed:
                change(parsed)

        return self.on(f"after-call.{self._service}.{operation}", handler)

    @property
    def _service(self) -> str:
        return self.client.meta.service_model.service_id.hyphenize()

    def remove(self) -> None:
        for event, handler in self.hooks:
            self.client.meta.events.unregister(event, handler)
        self.hooks.clear()

    def __enter__(self) -> Injected:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _Http:
    status_code = 200

    def __init__(self) -> None:
        self.headers: dict = {}


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, *_: Any) -> bytes:
        body, self.body = self.body, b""
        return body
