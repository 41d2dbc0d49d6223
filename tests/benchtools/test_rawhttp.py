"""The load generator's HTTP client parses whole responses only, and every kind it meets."""
import asyncio

from bench.rawhttp import RawHttpPool, _parse


def test_a_response_is_taken_only_once_whole():
    response = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"id\": 7}"
    buffer = bytearray()
    for cut in range(len(response)):
        buffer[:] = response[:cut]
        assert _parse(buffer) is None
    buffer[:] = response + b"HTTP/1.1 503"
    assert _parse(buffer) == (201, b'{"id": 7}', True)
    assert buffer == bytearray(b"HTTP/1.1 503")  # the next response's start stays


def test_chunked_bodies_and_connection_close():
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n"
    assert _parse(bytearray(response[:-2])) is None
    assert _parse(bytearray(response)) == (200, b"abcdefg", False)


def test_requests_over_kept_alive_connections():
    """Against a real HTTP server (asyncio streams): three requests, one connection."""
    seen: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            seen.append(head.split(b"\r\n")[0] + b" " + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            if len(seen) == 3:
                break
        writer.close()

    async def scenario() -> list:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = RawHttpPool(f"http://127.0.0.1:{port}", limit=1)
        replies = [await pool.request("POST", "/x", {"X-A": "1"}, body) for body in (b"a", b"bb", b"")]
        pool.close()
        server.close()
        return replies

    assert asyncio.run(scenario()) == [(201, b"ok")] * 3
    assert seen == [b"POST /x HTTP/1.1 a", b"POST /x HTTP/1.1 bb", b"POST /x HTTP/1.1 "]
    assert connections == 1
