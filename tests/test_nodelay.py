"""TCP_NODELAY on the server's listening socket (leo_app/nodelay.py): without it, every small response of
Streamlit's server waits for the browser's delayed ACK (40 ms)."""

from __future__ import annotations

import asyncio
import socket

from streamlit.web.server.starlette.starlette_server import _bind_socket

from leo_app import warmup
from leo_app.nodelay import nodelay_listeners


def _nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on ``listener`` (as uvicorn serves it)."""

    async def go() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                if not accepted.done():
                    accepted.set_result(_nodelay(transport.get_extra_info("socket")))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        try:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            value = await asyncio.wait_for(accepted, 30)
            writer.close()
            return value
        finally:
            server.close()

    return asyncio.run(go())


def test_streamlits_socket_keeps_nagle_on_until_the_listener_gets_nodelay():
    # Streamlit binds with socket.socket(family): protocol 0, which asyncio's own TCP_NODELAY skips.
    listener = _bind_socket("127.0.0.1", 0, 8)
    assert listener.proto == 0 and _nodelay(listener) == 0
    assert _accepted_nodelay(listener) == 0  # the cause: if this fails, Streamlit or asyncio fixed it
    listener = _bind_socket("127.0.0.1", 0, 8)
    try:
        assert nodelay_listeners() >= 1
        assert _nodelay(listener) == 1
        assert _accepted_nodelay(listener) == 1  # accepted connections inherit the option
    finally:
        listener.close()


def test_only_listening_tcp_sockets_are_changed_and_nothing_is_closed():
    listener = _bind_socket("127.0.0.1", 0, 8)
    client = socket.create_connection(listener.getsockname())
    server_side, _ = listener.accept()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        nodelay_listeners()
        assert _nodelay(listener) == 1
        assert _nodelay(client) == 0 and _nodelay(server_side) == 0  # connections: not listening, left alone
        client.sendall(b"still open")  # the duplicates it inspected were closed, the sockets were not
        assert server_side.recv(16) == b"still open"
        assert udp.fileno() >= 0
    finally:
        for sock in (listener, client, server_side, udp):
            sock.close()


def test_the_lifespan_sets_it_before_serving(monkeypatch):
    monkeypatch.setattr(warmup, "warm_up", lambda: 0.0)
    monkeypatch.setattr(warmup, "_open_browser", lambda: None)
    listener = _bind_socket("127.0.0.1", 0, 8)
    seen = []

    async def go():
        async with warmup.lifespan(None):
            seen.append(_nodelay(listener))

    try:
        asyncio.run(go())
        assert seen == [1]
    finally:
        listener.close()
