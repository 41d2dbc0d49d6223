"""The hub's direct writes (marketdata/wire.py) are for plain sockets only: under TLS, Twisted's
wrapper hands attribute reads to the TCP transport beneath it, so a frame written to that
transport's socket would leave unencrypted. Such a socket keeps the queue path (autobahn writes
through the TLS wrapper)."""
from types import SimpleNamespace

from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from exchange.marketdata.wire import SocketWriter

OPEN = {"state": 3, "send_state": 0, "_perMessageCompress": None, "send_queue": [], "autoFragmentSize": 0,
        "maskServerFrames": False}


def test_a_socket_behind_a_tls_wrapper_is_not_written_to_directly():
    beneath = SimpleNamespace(connected=1, disconnecting=False, socket=object(), dataBuffer=b"", offset=0,
                              _tempDataLen=0)
    wrapper = ProtocolWrapper(WrappingFactory(Factory.forProtocol(Protocol)), Protocol())
    wrapper.makeConnection(beneath)  # as TLSMemoryBIOProtocol is connected: reads fall through to it
    assert wrapper.socket is beneath.socket  # the trap: the TCP socket, seen through the wrapper
    assert wrapper.connected
    assert SocketWriter(SimpleNamespace(transport=wrapper, **OPEN)).usable() is False


def test_a_socket_whose_transport_is_not_a_tcp_connection_is_not_written_to_directly():
    transport = SimpleNamespace(connected=1, disconnecting=False, socket=object(), dataBuffer=b"", offset=0,
                                _tempDataLen=0)
    assert SocketWriter(SimpleNamespace(transport=transport, **OPEN)).usable() is False
