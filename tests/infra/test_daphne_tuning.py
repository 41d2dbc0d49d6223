"""Daphne's requests skip Twisted's form parsing (Daphne never reads it; it cost about a tenth
of a web process's CPU per order POST, and parsed whole multipart bodies on the event loop)."""
import asyncio
from unittest import mock

from daphne.http_protocol import WebRequest

from exchange.infra import daphne_tuning


def test_requests_created_by_daphne_do_not_parse_post_bodies():
    daphne_tuning.install()
    daphne_tuning.install()  # idempotent: installing twice does not wrap twice
    request = WebRequest(mock.MagicMock())
    assert request._parsePOSTFormSubmission is False


def test_the_web_application_installs_it():
    import exchange.asgi  # noqa: F401  (what Daphne imports)

    assert WebRequest.__init__ is daphne_tuning._init_without_form_parsing


def test_websocket_scopes_carry_their_protocol_and_http_scopes_do_not():
    """The market-data hub writes frames to a caught-up socket's protocol (marketdata/wire.py)."""
    from daphne.server import Server

    daphne_tuning.install()
    seen = []
    server = mock.MagicMock()
    server.connections = {}
    server.application = lambda scope, receive, send: seen.append(scope)
    protocol = object()

    async def create(kind: str) -> None:  # Daphne makes its queue on the running event loop
        server.connections = {protocol: {}}
        with mock.patch("asyncio.ensure_future"):
            Server.create_application(server, protocol, {"type": kind})

    for kind in ("websocket", "http"):
        asyncio.run(create(kind))
    assert seen[0][daphne_tuning.PROTOCOL_SCOPE_KEY] is protocol
    assert daphne_tuning.PROTOCOL_SCOPE_KEY not in seen[1]
