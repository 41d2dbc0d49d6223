"""Two adjustments to Daphne, installed in every web process before it serves a request.

HTTP requests skip Twisted's form parsing. Daphne hands the raw body to the ASGI application and
never reads Twisted's ``request.args``, but Twisted still parses every POST that has a body: it
runs the ``Content-Type`` header through the ``email`` package (about a tenth of a web process's
CPU per order POST, measured with py-spy) and, for ``multipart/form-data`` or URL-encoded bodies,
parses the whole body on the event loop into memory nobody uses. Twisted has a switch for this
(``parsePOSTFormSubmission``); Daphne does not pass it, so it is turned off here, for every
request Daphne creates. Django parses forms itself, on a request thread, with its own upload
limits.

A WebSocket's scope carries its Daphne protocol (under ``PROTOCOL_SCOPE_KEY``),
so that the market-data hub can write a frame it built once per process straight to every
caught-up socket instead of through each socket's consumer, Channels' send wrappers, autobahn's
framing and Twisted's write registration (``exchange/marketdata/wire.py``). ASGI has no way to
ask for the transport; without the key the hub uses the ordinary path.
"""
from collections.abc import Callable
from typing import Any

from daphne.http_protocol import WebRequest

# The scope key of a WebSocket's Daphne protocol (autobahn on Twisted); absent under any other
# server or a test communicator.
PROTOCOL_SCOPE_KEY = "exchange.daphne_protocol"

_original_init = WebRequest.__init__
# Daphne's, once installed; daphne.server is imported in install() only: importing it installs
# Twisted's reactor.
_original_create_application: Callable[..., Any] | None = None


def _init_without_form_parsing(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    self._parsePOSTFormSubmission = False


def _create_application_with_protocol(self: Any, protocol: Any, scope: dict) -> Any:
    if scope.get("type") == "websocket":
        scope[PROTOCOL_SCOPE_KEY] = protocol
    assert _original_create_application is not None  # set by install(), which put this in its place
    return _original_create_application(self, protocol, scope)


def install() -> None:
    """Idempotent; called from ``exchange/asgi.py`` before Daphne serves a request."""
    if WebRequest.__init__ is not _init_without_form_parsing:
        WebRequest.__init__ = _init_without_form_parsing
    global _original_create_application
    from daphne.server import Server

    if Server.create_application is not _create_application_with_protocol:
        _original_create_application = Server.create_application
        Server.create_application = _create_application_with_protocol
