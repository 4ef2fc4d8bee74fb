# SPDX-License-Identifier: MIT
"""When each probe left, from the loopback interface itself, for fieldwatch's
benchmark: an AF_PACKET socket on "lo" (root only) that records, with the
kernel's timestamp, every UDP datagram to one port (SNMP requests) and every TCP
segment to another port whose payload starts a request ("POST " or "GET ") (or,
with tcp_syn=True, every connection's SYN to that port: a probe's first packet), as
lo receives them (PACKET_HOST: each packet once, whether or not the kernel also
shows it outgoing). Nothing is sent; only loopback is looked at.

  s = Sniffer(udp_port=16161, tcp_port=18080); s.start(); ...; s.stop()
  s.events -> [(unix time, "udp" | "tcp" | "syn", destination address), ...]
"""

import socket
import struct
import threading
import time

ETH_P_IP = 0x0800
PACKET_HOST = 0
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
MAX_EVENTS = 5_000_000


class Sniffer:
    def __init__(self, udp_port, tcp_port, interface="lo", tcp_syn=False):
        self.udp_port, self.tcp_port = udp_port, tcp_port
        self.tcp_syn = tcp_syn
        self.interface = interface
        self.events = []
        self.error = None
        self._stop = threading.Event()
        self._thread = None
        self._sock = None

    def start(self):
        """Opens the socket (raises OSError without the privilege) and starts."""
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self._sock.bind((self.interface, ETH_P_IP))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()
        return self.events

    def _run(self):
        udp, tcp = self.udp_port, self.tcp_port
        cmsg_space = socket.CMSG_SPACE(16)
        try:
            while not self._stop.is_set():
                try:
                    data, anc, _, addr = self._sock.recvmsg(128, cmsg_space)
                except socket.timeout:
                    continue
                if addr[2] != PACKET_HOST or len(data) < 28:
                    continue
                ihl = (data[0] & 0x0F) * 4
                proto = data[9]
                if proto == 17:
                    if struct.unpack_from("!H", data, ihl + 2)[0] != udp:
                        continue
                    kind = "udp"
                elif proto == 6:
                    if struct.unpack_from("!H", data, ihl + 2)[0] != tcp:
                        continue
                    if self.tcp_syn:
                        if data[ihl + 13] & 0x12 != 0x02:   # SYN without ACK
                            continue
                        kind = "syn"
                    else:
                        off = ihl + (data[ihl + 12] >> 4) * 4
                        head = data[off:off + 5]
                        if head != b"POST " and head[:4] != b"GET ":
                            continue
                        kind = "tcp"
                else:
                    continue
                stamp = None
                for level, type_, raw in anc:
                    if level == socket.SOL_SOCKET and type_ == SCM_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", raw[:16])
                        stamp = sec + nsec / 1e9
                if stamp is None:
                    stamp = time.time()
                if len(self.events) < MAX_EVENTS:
                    self.events.append((stamp, kind, socket.inet_ntoa(data[16:20])))
        except OSError as e:
            self.error = str(e)
