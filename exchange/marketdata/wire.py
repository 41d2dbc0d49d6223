"""Market data written to Daphne's sockets as ready-made WebSocket frames, once per process.

Profiles of a web process with 1,000 market sockets showed most of each message's cost below our
code and paid per socket: Channels' queue and dispatch waking the socket's consumer, the session
middleware's send wrapper, Daphne encoding the text to UTF-8, autobahn building the frame, and
Twisted registering the socket for writing (``add_writer``), waking for it and unregistering it.
The bytes were the same for every socket of a window. So once a socket is caught up (its snapshot
sent, every later message whole, nothing waiting in its queue) the hub writes the frame's bytes,
built once per message per process (``text_frame``), straight to each such socket
(``SocketWriter``): with the socket's kernel buffer free (the usual case) that is one ``send``
call; what does not fit goes to Twisted's buffer behind which everything else of the socket
already queues, so the order on the wire is the order of the writes.

What goes out is what autobahn would have sent for ``sendMessage(text)`` on a server socket: one
unmasked, unfragmented, uncompressed text frame. A socket where that would not hold (compression
negotiated, autobahn fragmenting or holding a send queue, not open) is not written here and keeps
the queue path. A socket whose bytes have stayed unsent for ``STALL_SECONDS`` (a client that reads
too slowly) is reported slow, and the hub closes it with 4503 as it closes a socket too many
messages behind.
"""
from __future__ import annotations

import os
import struct
import time
from typing import Any

from twisted.internet import tcp

from exchange.infra.daphne_tuning import PROTOCOL_SCOPE_KEY

# A socket with bytes still unsent for this long is too slow: closed 4503 (the queue path's rule:
# ``windows.BACKLOG_SECONDS`` of windows waiting); its buffer may not grow past BUFFER_MAX either.
STALL_SECONDS = float(os.environ.get("EXCHANGE_MD_SOCKET_STALL_SECONDS") or 10.0)
BUFFER_MAX = 16 * 1024 * 1024

_STATE_OPEN = 3  # autobahn's WebSocketProtocol.STATE_OPEN
_SEND_STATE_GROUND = 0  # autobahn's WebSocketProtocol.SEND_STATE_GROUND


def text_frame(text: str) -> bytes:
    """``text`` as one final, unmasked WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class SocketWriter:
    """Writes ready-made frames to one Daphne WebSocket, bypassing the per-socket machinery."""

    __slots__ = ("protocol", "stalled_since")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.stalled_since: float | None = None

    @classmethod
    def for_scope(cls, scope: dict) -> SocketWriter | None:
        """The writer for this socket when its server hands over the protocol and what autobahn
        would send is a plain frame; None otherwise (the socket keeps the queue path)."""
        protocol = scope.get(PROTOCOL_SCOPE_KEY)
        if protocol is None:
            return None
        writer = cls(protocol)
        return writer if writer.usable() else None

    def usable(self) -> bool:
        """Whether a frame written now is exactly what ``sendMessage`` would write now."""
        protocol = self.protocol
        # Only a plain TCP (or Unix) socket: under TLS the protocol's transport is Twisted's TLS
        # wrapper, which hands attribute reads (``socket``, ``dataBuffer``) to the TCP transport
        # beneath it, so a frame written here would go out unencrypted.
        transport = getattr(protocol, "transport", None)
        if not isinstance(transport, tcp.Connection) or getattr(transport, "TLS", False):
            return False
        try:
            return (protocol.state == _STATE_OPEN and protocol.send_state == _SEND_STATE_GROUND
                    and protocol._perMessageCompress is None and not protocol.send_queue
                    and not protocol.autoFragmentSize and not protocol.maskServerFrames
                    and protocol.transport is not None and protocol.transport.connected
                    and not protocol.transport.disconnecting)
        except AttributeError:  # a different autobahn or Twisted: keep the queue path
            return False

    def write(self, frame: bytes) -> bool:
        """Write ``frame``; False when this socket has fallen too far behind (the caller closes
        it). A socket that is closing or gone is skipped: its consumer leaves the hub shortly."""
        protocol = self.protocol
        if protocol.state != _STATE_OPEN:
            return True
        transport = protocol.transport
        if transport is None or not transport.connected or transport.disconnecting:
            return True
        buffered = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        if buffered:
            # Behind what Twisted holds: queue there, in order.
            now = time.monotonic()
            if self.stalled_since is None:
                self.stalled_since = now
            elif now - self.stalled_since > STALL_SECONDS or buffered > BUFFER_MAX:
                return False
            transport.write(frame)
            return True
        self.stalled_since = None
        try:
            sent = transport.socket.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:  # reset by the peer: Twisted notices on its next read and closes
            return True
        if sent < len(frame):
            self.stalled_since = time.monotonic()
            transport.write(frame[sent:])
        return True
