"""``herald codec-server``: lets authorised ops read encrypted payloads in the Temporal UI.

The UI calls it from the browser: ``POST /decode`` (and ``/encode``) with
``{"payloads": [...]}`` in protobuf JSON, an ``X-Namespace`` header, and a CORS preflight
first. Every request must carry ``Authorization: Bearer <HERALD_CODEC_TOKEN>``; without a
token configured the server only listens on the loopback interface (``herald dev``).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from herald.codec import EncryptionCodec, parse_keys
from herald.settings import Settings

log = logging.getLogger("herald.codec")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 4 * 1024 * 1024


class CodecServer:
    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8888) -> None:
        if settings.encryption_keys is None:
            raise ValueError("HERALD_ENCRYPTION_KEYS is not set: there is nothing to decode")
        token = settings.codec_token.get_secret_value() if settings.codec_token else None
        if token is None and host not in LOOPBACK:
            raise ValueError("set HERALD_CODEC_TOKEN to serve beyond the loopback interface")
        self.codec = EncryptionCodec(parse_keys(settings.encryption_keys.get_secret_value()))
        self.token = token
        self.origins = {o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()}
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.codec_server = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def transform(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payloads = Payloads()
        json_format.ParseDict(body, payloads)
        convert = self.codec.encrypt if path == "/encode" else self.codec.decrypt
        out = Payloads(payloads=[convert(p) for p in payloads.payloads])
        return json_format.MessageToDict(out)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # no access log (no payloads)
        pass

    @property
    def codec(self) -> CodecServer:
        return self.server.codec_server  # type: ignore[attr-defined]

    def _cors(self) -> None:
        origin = self.headers.get("Origin")
        if origin and origin in self.codec.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header(
                "Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization"
            )
            self.send_header("Vary", "Origin")

    def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self._cors()
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self) -> None:
        self._answer(204)

    def do_POST(self) -> None:
        if self.path not in ("/encode", "/decode"):
            self._answer(404, {"error": "use /encode or /decode"})
            return
        if self.codec.token is not None:
            sent = self.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {self.codec.token}".encode()):
                self._answer(401, {"error": "missing or wrong access token"})
                return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            self._answer(200, self.codec.transform(self.path, body))
        except (ValueError, json_format.ParseError) as err:
            self._answer(400, {"error": str(err)})
