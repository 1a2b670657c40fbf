"""A minimal WebSocket client for tests (RFC 6455 text frames only)."""
import base64
import json
import os
import socket
import struct


class WS:
    def __init__(self, port, path, origin=None, timeout=10, rcvbuf=None):
        # A small receive buffer must be set before connecting: shrunk on a
        # connected loopback socket, it can stall the window for minutes.
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "Origin: %s\r\n" % origin if origin else ""
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n%s\r\n" % (path, port, key, extra)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = self.sock.recv(1)
            if not c:
                break
            head += c
        self.status = int(head.split()[1]) if head else 0

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("closed")
            data += chunk
        return data

    def recv(self):
        """The next text frame as JSON; EOFError once the server closed."""
        while True:
            h = self._read(2)
            op, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)
            if op == 8:
                raise EOFError("closed")
            if op == 1:
                return json.loads(data)

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def entries(self, count, timeout=10):
        """Reads frames until count entries came; returns them."""
        self.sock.settimeout(timeout)
        got = []
        while len(got) < count:
            frame = self.recv()
            got += frame.get("entries", [])
        return got

    def close(self):
        self.sock.close()
