"""TCP_NODELAY on the server's listening sockets, so that no small response waits 40 ms.

Streamlit (1.67) binds its listening socket itself with ``socket.socket(family)``, whose protocol number is 0,
and asyncio turns Nagle's algorithm off only on connections whose socket says ``IPPROTO_TCP`` (6). So every
connection the server accepts keeps Nagle on: a response written as headers then a small body holds the body
back until the browser acknowledges the headers, which a delayed ACK does after 40 ms. Measured on this
machine (``curl`` on one keep-alive connection): 42–44 ms for each ``/_stcore/health`` and each small
JavaScript chunk, 0.5–1.5 ms with the option set; a page loads 70 to 130 such files, many of them one after
another (each module's imports).

Accepted connections inherit TCP_NODELAY from the listening socket (Linux, the BSDs and macOS), so setting it
there once, before the server accepts its first connection, covers every HTTP request and websocket.
"""

from __future__ import annotations

import os
import socket
import stat

__all__ = ["nodelay_listeners"]

_FD_DIRS = ("/proc/self/fd", "/dev/fd")  # Linux; macOS and the BSDs


def _open_fds() -> list[int]:
    for path in _FD_DIRS:
        try:
            return [int(name) for name in os.listdir(path) if name.isdigit()]
        except OSError:
            continue
    return []


def nodelay_listeners() -> int:
    """Set TCP_NODELAY on every listening TCP socket of this process; returns how many there were."""
    count = 0
    for fd in _open_fds():
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))  # a duplicate: closing it leaves the server's socket open
        except OSError:
            continue
        with sock:
            try:
                if (sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM
                        and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    count += 1
            except OSError:
                continue
    return count
