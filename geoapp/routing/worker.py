"""Route planning off the server's event loop: each plan is made in a worker process of its own, a few at a time.

Why processes: VROOM and OR-Tools are CPU-bound and the planner's own Python (places, the matrix, assembling and
storing the plan) holds the GIL, so planning inside the server — even in its thread pool — stalled every other
request (``/health`` 46 s behind a 1,000-project plan, and a server deaf to SIGTERM behind 5,000 projects).

Why one process per plan, forked from a fork server: the fork server (multiprocessing's ``forkserver``: a clean,
single-threaded process, so no threads are forked — OR-Tools and forked threads do not mix) imports the planner
(numpy, OR-Tools, VROOM, SQLAlchemy) once, so a worker starts in milliseconds; and a running OR-Tools search can only
be stopped by ending its process, which is what a cancelled request, a client that went away, the app's shutdown and
SIGTERM/SIGINT do. Workers run at a lower CPU priority (``nice``) so the server and the database answer first.

The worker does the whole job — selection, matrix, solver, storage — on database connections of its own and commits
it; the server receives the stored plan as a dict. At most ``plan_workers`` run at once; up to ``plan_queue`` further
requests wait for a worker, more are refused (429).

Shutdown: uvicorn lets running requests finish before it runs the app's shutdown, so a plan would hold a stopping
server for as long as it computes. :meth:`PlanWorkers.hook_signals` therefore chains SIGTERM and SIGINT (when the
server runs in the main thread): they end the running plans first (their requests answer 503), then uvicorn's own
handler stops the server; :meth:`PlanWorkers.stop` (the lifespan's shutdown) ends whatever is left.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Awaitable, Callable
from functools import cache
from multiprocessing.connection import Connection as Pipe
from typing import TYPE_CHECKING, Any

from geoapp.errors import GeoappError, TooManyRequests, Unavailable

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext

    from geoapp.settings import Settings

log = logging.getLogger(__name__)

NICE = 10                    # workers' CPU priority below the server's (0): interactive requests come first
RETRY_AFTER_S = 30           # when every worker is busy and the queue is full
PRELOAD = ["geoapp.routing.jobs"]
JOIN_S = 5.0                 # how long a terminated worker may take to go away


@cache
def _context() -> ForkServerContext:
    """The fork server context, preloading the planner so that workers start without importing it (once)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _state(error: GeoappError) -> dict[str, Any]:
    """A GeoappError as plain data (exceptions with keyword-only constructors do not survive pickling)."""
    return {"zh": error.zh, "en": error.en, "parameter": error.parameter, "allowed": error.allowed,
            "status": error.status, "headers": error.headers, "extra": error.extra}


def _rebuilt(state: dict[str, Any]) -> GeoappError:
    return GeoappError(zh=state["zh"], en=state["en"], parameter=state["parameter"], allowed=state["allowed"],
                       status=state["status"], headers=state["headers"], **state["extra"])


def _work(sender: Pipe, job: Callable[..., Any], args: tuple) -> None:
    """The worker process: run the job and send back ("ok", result), ("error", GeoappError state), ("db", a
    one-line reason: never SQL or parameters) or ("failed", the traceback)."""
    from sqlalchemy.exc import DBAPIError

    os.nice(NICE)
    try:
        message: tuple[str, Any] = ("ok", job(*args))
    except GeoappError as exc:
        message = ("error", _state(exc))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0][:300] if exc.orig is not None else type(exc).__name__
        message = ("db", f"{type(exc.orig).__name__}: {reason}")
    except Exception:  # noqa: BLE001 — reported to the server, which logs it and answers 500
        message = ("failed", traceback.format_exc(limit=30))
    try:
        sender.send(message)
    except OSError:
        pass  # the server stopped waiting (cancelled): nobody to tell
    finally:
        sender.close()


def stopping() -> Unavailable:
    return Unavailable(zh="服务正在停止，路线规划已取消，请稍后重试",
                       en="the server is stopping: the route plan was cancelled; try again later",
                       headers={"Retry-After": "10"})


class _Run:
    """One job in one worker process: started and awaited in a thread, cancellable from any thread."""

    def __init__(self, job: Callable[..., Any], args: tuple) -> None:
        context = _context()
        self.receiver, self._sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_work, args=(self._sender, job, args), name="geoapp-plan", daemon=True)
        self.cancelled = False
        self._lock = threading.Lock()

    def wait(self) -> tuple[str, Any] | None:
        """Start the worker and wait for its answer; None when it ended without one (cancelled, crashed)."""
        with self._lock:
            if self.cancelled:
                return None
            self.process.start()  # the first start launches the fork server (it imports the planner once)
        self._sender.close()
        try:
            return self.receiver.recv()
        except (EOFError, OSError):
            return None
        finally:
            self.receiver.close()
            self.process.join(JOIN_S)

    def cancel(self) -> None:
        """End the worker now (SIGTERM); its database connections close and its transaction is rolled back."""
        with self._lock:
            self.cancelled = True
            if self.process.pid is not None and self.process.exitcode is None:
                self.process.terminate()


class PlanWorkers:
    """At most ``workers`` plans at once, each in its own process; ``queue`` more may wait; all cancellable."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._slots = asyncio.Semaphore(workers)
        self._waiting = 0
        self._runs: set[_Run] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self._previous: dict[int, Any] = {}

    def pids(self) -> list[int]:
        """The process ids of the workers computing right now."""
        with self._lock:
            return [r.process.pid for r in self._runs if r.process.pid is not None and r.process.exitcode is None]

    async def run(self, job: Callable[..., Any], *args: Any,
                  until: Callable[[], Awaitable[Any]] | None = None) -> Any:
        """``job(*args)`` in a worker process; its GeoappError is raised here as it was raised there. ``until()``
        (e.g. the client going away) cancels the job when it completes first."""
        if self._stopped:
            raise stopping()
        if self._slots.locked() and self._waiting >= self.queue:
            raise TooManyRequests(zh=f"正在计算的路线规划已达上限（设置 GEOAPP_PLAN_WORKERS={self.workers}，"
                                     f"排队 GEOAPP_PLAN_QUEUE={self.queue}），请稍后重试",
                                  en=f"every planning worker is busy (setting GEOAPP_PLAN_WORKERS={self.workers}, "
                                     f"queue GEOAPP_PLAN_QUEUE={self.queue}); try again later",
                                  headers={"Retry-After": str(RETRY_AFTER_S)})
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            if self._stopped:
                raise stopping()
            return await self._run(_Run(job, args), until)
        finally:
            self._slots.release()

    async def _run(self, run: _Run, until: Callable[[], Awaitable[Any]] | None) -> Any:
        with self._lock:
            self._runs.add(run)
        waiting = asyncio.ensure_future(asyncio.to_thread(run.wait))
        watcher = asyncio.ensure_future(until()) if until is not None else None
        try:
            if watcher is None:
                message = await waiting
            else:
                await asyncio.wait({waiting, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if not waiting.done():
                    run.cancel()
                    raise Unavailable(zh="客户端已断开，路线规划已取消",
                                      en="the client went away: the plan was cancelled")
                message = waiting.result()
        except BaseException:
            run.cancel()  # cancelled request (shutdown, timeout) or client gone: the worker goes too
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
            with self._lock:
                self._runs.discard(run)
        return self._answer(run, message)

    def _answer(self, run: _Run, message: tuple[str, Any] | None) -> Any:
        if message is None:
            if run.cancelled or self._stopped:
                raise stopping()
            raise Unavailable(zh=f"路线规划进程意外退出（退出码 {run.process.exitcode}），请重试",
                              en=f"the planning worker stopped unexpectedly (exit code {run.process.exitcode}); "
                                 "try again")
        kind, value = message
        if kind == "ok":
            return value
        if kind == "error":
            raise _rebuilt(value)
        if kind == "db":
            log.warning("route planning: database error in the worker: %s", value)
            raise Unavailable(zh="数据库暂时不可用或过慢，请稍后重试", en="the database is unavailable or too slow; "
                              "try again later", headers={"Retry-After": "5"})
        raise RuntimeError(f"route planning worker failed:\n{value}")

    def cancel_all(self) -> None:
        """End every running worker (their requests answer 503); safe from a signal handler."""
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.cancel()

    def stop(self) -> None:
        """The app's shutdown: refuse new plans, end the running ones, give the signals back."""
        self._stopped = True
        self.cancel_all()
        self.unhook_signals()

    def hook_signals(self) -> None:
        """Chain SIGTERM and SIGINT so that they end running plans before the server's own handler runs (only in
        the main thread, where signal handlers live; under a test client or a threaded server nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if previous in (signal.SIG_IGN, None):
                continue

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                self.cancel_all()
                if callable(previous):
                    previous(signum, frame)
                else:  # SIG_DFL: do what it would have done
                    signal.signal(signum, signal.SIG_DFL)
                    signal.raise_signal(signum)

            self._previous[sig] = (previous, handler)
            signal.signal(sig, handler)

    def unhook_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, (previous, handler) in self._previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)
        self._previous.clear()


def for_settings(settings: Settings) -> PlanWorkers:
    return PlanWorkers(settings.plan_workers, settings.plan_queue)

