"""Start every child process from one long-lived thread, so that dying with the supervisor is all they do.

Each child asks Linux for SIGTERM when its parent dies (prctl(2), PR_SET_PDEATHSIG), so a `devstack up`
killed by SIGKILL never leaves emulators holding their ports. But prctl(2) says "the parent" is the
*thread* that created the child: a child started from a short-lived thread (a restart requested from a
helper thread, a test's worker) would be sent SIGTERM as soon as that thread ended. Every `Popen` therefore
runs on the spawner's own thread, which lives until the supervisor has stopped all its children.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import queue
import signal
import subprocess
import threading
from concurrent.futures import Future

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_Request = tuple[list[str], dict[str, str], "Future[subprocess.Popen[bytes]]"]


def _terminate_with_parent(parent_pid: int) -> None:
    """In the child, before exec: SIGTERM when the spawning thread (or the whole supervisor) dies.

    If the supervisor died between fork and prctl, the signal would never come: the child has already
    been re-parented, so it exits at once (the race prctl(2) documents). Elsewhere than Linux this is a
    no-op and the supervisor's signal handlers are the only guard."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(1)


class Spawner:
    """Runs ``subprocess.Popen`` on one dedicated thread; ``popen`` may be called from any thread."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` (stdout and stderr piped together, in a new session) and return it once running."""
        future: Future[subprocess.Popen[bytes]] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # A daemon: if the interpreter exits without stop(), the process dies and so do the children.
                self._thread = threading.Thread(target=self._serve, name="devstack-spawner", daemon=True)
                self._thread.start()
            self._requests.put((argv, env, future))
        return future.result()

    def close(self) -> None:
        """End the thread; call only once every child it started has exited (they would get SIGTERM)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._requests.put(None)
        if thread is not None:
            thread.join()

    def _serve(self) -> None:
        while (request := self._requests.get()) is not None:
            argv, env, future = request
            if not future.set_running_or_notify_cancel():
                continue
            try:
                # A new session keeps the terminal's Ctrl-C away from the children: the supervisor stops
                # them itself, host first, so in-flight invocations still reach the emulators.
                future.set_result(subprocess.Popen(
                    argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                    preexec_fn=functools.partial(_terminate_with_parent, os.getpid())))
            except BaseException as exc:
                future.set_exception(exc)
