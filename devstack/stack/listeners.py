"""Which processes listen on a TCP port, from Linux's procfs (several do, with SO_REUSEPORT).

A connect probe says only that *someone* listens: once one host instance holds a port shared with
SO_REUSEPORT, probing cannot tell whether the next instance is up, because the kernel hands each new
connection to any of them (socket(7), SO_REUSEPORT). /proc/net/tcp lists every listening socket with
its inode, and /proc/<pid>/fd links to the inodes a process holds (proc(5)), so readiness of one
process on a shared port can be checked exactly.
"""
from __future__ import annotations

import os
from pathlib import Path

TCP_LISTEN = "0A"  # include/net/tcp_states.h: TCP_LISTEN = 10
PROC = Path("/proc")


def listening_inodes(port: int, proc: Path = PROC) -> set[str]:
    """Socket inodes listening on ``port`` (any IPv4/IPv6 address), from /proc/net/tcp{,6}."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            if len(fields) > 9 and fields[3] == TCP_LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int, proc: Path = PROC) -> set[str]:
    """Inodes of the sockets process ``pid`` holds (empty if it is gone or not ours to read)."""
    found: set[str] = set()
    try:
        entries = os.listdir(proc / str(pid) / "fd")
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(proc / str(pid) / "fd" / entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def pid_listens(pid: int, port: int, proc: Path = PROC) -> bool:
    """True when process ``pid`` itself holds a socket listening on ``port``."""
    return bool(listening_inodes(port, proc) & socket_inodes(pid, proc))


def pids_listening(port: int, proc: Path = PROC) -> list[int]:
    """Every process holding a socket that listens on ``port`` (sorted), e.g. all host instances."""
    wanted = listening_inodes(port, proc)
    pids = []
    for entry in os.listdir(proc):
        if entry.isdigit() and wanted & socket_inodes(int(entry), proc):
            pids.append(int(entry))
    return sorted(pids)


def procfs_available(proc: Path = PROC) -> bool:
    """True on Linux (where /proc/net/tcp exists)."""
    return (proc / "net" / "tcp").exists()
