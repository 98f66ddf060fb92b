"""Thread sources of the standard library, asyncio and the async I/O libraries.

See docs/catalog.md for the reasoning behind each entry.
"""

from __future__ import annotations

from fork_lint.catalog import ThreadSource

_CPY = "https://docs.python.org/3/library/"

# Event loops expose the same methods whichever way the loop was obtained.
LOOP_OBJECTS = _LOOP = (
    "asyncio.get_running_loop()",
    "asyncio.get_event_loop()",
    "asyncio.new_event_loop()",
    "asyncio.events.get_running_loop()",
    "asyncio.events.get_event_loop()",
    "asyncio.events.new_event_loop()",
    "asyncio.AbstractEventLoop()",
    "asyncio.BaseEventLoop()",
    "asyncio.SelectorEventLoop()",
    "asyncio.events.AbstractEventLoop()",
    "asyncio.base_events.BaseEventLoop()",
    "uvloop.new_event_loop()",
    "uvloop.Loop()",
)


def _loop(method: str) -> tuple[str, ...]:
    return tuple(f"{loop}.{method}" for loop in _LOOP)


_ANYIO_PATH_IO = (
    "absolute",
    "chmod",
    "copy",
    "copy_into",
    "exists",
    "expanduser",
    "glob",
    "group",
    "hardlink_to",
    "is_block_device",
    "is_char_device",
    "is_dir",
    "is_fifo",
    "is_file",
    "is_junction",
    "is_mount",
    "is_socket",
    "is_symlink",
    "iterdir",
    "lchmod",
    "lstat",
    "mkdir",
    "move",
    "move_into",
    "open",
    "owner",
    "read_bytes",
    "read_text",
    "readlink",
    "rename",
    "replace",
    "resolve",
    "rglob",
    "rmdir",
    "samefile",
    "stat",
    "symlink_to",
    "touch",
    "unlink",
    "walk",
    "write_bytes",
    "write_text",
)

_AIOHTTP_METHODS = (
    "get", "post", "put", "patch", "delete", "head", "options", "request", "ws_connect",
    "_request",
)  # fmt: skip

STDLIB_THREAD_SOURCES: tuple[ThreadSource, ...] = (
    ThreadSource(
        (
            "threading.Thread().start",
            "threading.Timer().start",
            "threading._Timer().start",
            # `threading.Thread.start(self)` in a subclass's own `start()`
            "threading.Thread.start",
        ),
        "threading.Thread.start",
        "Starts a new OS thread running the target (or the subclass's `run`).",
        _CPY + "threading.html#threading.Thread.start",
        target=(1, "target"),
        target_from_alloc=True,
        run_method="run",
    ),
    ThreadSource(
        ("_thread.start_new_thread", "_thread.start_new", "thread.start_new_thread"),
        "_thread.start_new_thread",
        "Starts a new OS thread running the function.",
        _CPY + "_thread.html#thread.start_new_thread",
        target=(0, "function"),
    ),
    ThreadSource(
        (
            "concurrent.futures.ThreadPoolExecutor().submit",
            "concurrent.futures.ThreadPoolExecutor().map",
            "concurrent.futures.thread.ThreadPoolExecutor().submit",
            "concurrent.futures.thread.ThreadPoolExecutor().map",
        ),
        "concurrent.futures.ThreadPoolExecutor.submit",
        "The first submissions start worker threads that stay alive until `shutdown()`.",
        _CPY + "concurrent.futures.html#threadpoolexecutor",
        target=(0, "fn"),
    ),
    ThreadSource(
        (
            "multiprocessing.pool.ThreadPool",
            "multiprocessing.dummy.Pool",
            "multiprocessing.dummy.Process().start",
        ),
        "multiprocessing.pool.ThreadPool",
        "Creating the pool starts its worker threads and three handler threads.",
        _CPY + "multiprocessing.html#multiprocessing.pool.ThreadPool",
    ),
    ThreadSource(
        tuple(
            f"{pool}().{m}"
            for pool in ("multiprocessing.pool.ThreadPool", "multiprocessing.dummy.Pool")
            for m in (
                "apply",
                "apply_async",
                "map",
                "map_async",
                "imap",
                "imap_unordered",
                "starmap",
                "starmap_async",
            )
        ),
        "multiprocessing.pool.ThreadPool.apply_async",
        "Runs the function on one of the pool's worker threads.",
        _CPY + "multiprocessing.html#multiprocessing.pool.ThreadPool",
        target=(0, "func"),
    ),
    ThreadSource(
        (
            "multiprocessing.Pool",
            "multiprocessing.pool.Pool",
            "multiprocessing.get_context(*).Pool",
            "billiard.Pool",
        ),
        "multiprocessing.Pool",
        "Besides forking workers, a process pool starts three handler threads in the "
        "parent that live until the pool is closed and joined.",
        _CPY + "multiprocessing.html#multiprocessing.pool.Pool",
    ),
    ThreadSource(
        (
            "concurrent.futures.ProcessPoolExecutor().submit",
            "concurrent.futures.ProcessPoolExecutor().map",
            "concurrent.futures.process.ProcessPoolExecutor().submit",
            "concurrent.futures.process.ProcessPoolExecutor().map",
        ),
        "concurrent.futures.ProcessPoolExecutor.submit",
        "The first submission starts the executor's management thread in the parent.",
        _CPY + "concurrent.futures.html#processpoolexecutor",
    ),
    ThreadSource(
        tuple(
            f"{server}().{m}"
            for server in (
                "socketserver.ThreadingMixIn",
                "socketserver.ThreadingTCPServer",
                "socketserver.ThreadingUDPServer",
                "socketserver.ThreadingUnixStreamServer",
                "socketserver.ThreadingUnixDatagramServer",
                "http.server.ThreadingHTTPServer",
            )
            for m in ("serve_forever", "handle_request", "process_request")
        ),
        "socketserver.ThreadingMixIn.process_request",
        "Each request is handled on a new thread, running the request handler class.",
        _CPY + "socketserver.html#socketserver.ThreadingMixIn",
        target=(1, "RequestHandlerClass"),
        target_from_alloc=True,
    ),
    ThreadSource(
        ("logging.handlers.QueueListener().start",),
        "logging.handlers.QueueListener.start",
        "Starts the listener's background thread, alive until `stop()`.",
        _CPY + "logging.handlers.html#logging.handlers.QueueListener.start",
    ),
    ThreadSource(
        tuple(
            f"{q}().{m}"
            for q in (
                "multiprocessing.Queue",
                "multiprocessing.JoinableQueue",
                "multiprocessing.queues.Queue",
                "multiprocessing.queues.JoinableQueue",
                "multiprocessing.get_context(*).Queue",
                "multiprocessing.get_context(*).JoinableQueue",
                "billiard.Queue",
            )
            for m in ("put", "put_nowait")
        ),
        "multiprocessing.Queue.put",
        "The first `put()` starts the queue's feeder thread, alive until the queue is "
        "closed and garbage collected.",
        _CPY + "multiprocessing.html#pipes-and-queues",
    ),
    # -- asyncio: the loop's default executor is a ThreadPoolExecutor ------
    ThreadSource(
        ("asyncio.to_thread", "asyncio.threads.to_thread"),
        "asyncio.to_thread",
        "Runs the function in the event loop's default executor, whose threads live as "
        "long as the loop.",
        _CPY + "asyncio-task.html#asyncio.to_thread",
        target=(0, "func"),
        event_loop=True,
    ),
    ThreadSource(
        _loop("run_in_executor"),
        "loop.run_in_executor",
        "Runs the function in an executor; with `None`, the loop's default thread pool.",
        _CPY + "asyncio-eventloop.html#asyncio.loop.run_in_executor",
        target=(1, "func"),
        event_loop=True,
        any_receiver_method="run_in_executor",
    ),
    ThreadSource(
        (
            *_loop("getaddrinfo"),
            *_loop("getnameinfo"),
            *_loop("create_connection"),
            *_loop("create_datagram_endpoint"),
            *_loop("create_server"),
            *_loop("sock_connect"),
            *_loop("sendfile"),
            "asyncio.open_connection",
            "asyncio.start_server",
            "asyncio.streams.open_connection",
            "asyncio.streams.start_server",
        ),
        "loop.getaddrinfo",
        "Host name resolution runs `socket.getaddrinfo` in the loop's default executor, "
        "starting its threads (numeric addresses skip it).",
        _CPY + "asyncio-eventloop.html#asyncio.loop.getaddrinfo",
        event_loop=True,
    ),
    ThreadSource(
        (
            *(
                f"aiohttp.{c}().{m}"
                for c in ("ClientSession", "client.ClientSession")
                for m in _AIOHTTP_METHODS
            ),
            "aiohttp.request",
            "aiohttp.client.request",
        ),
        "aiohttp.ClientSession.request",
        "aiohttp's default resolver (ThreadedResolver, unless aiodns is installed) resolves "
        "host names with `loop.getaddrinfo`, in the loop's default executor.",
        "https://docs.aiohttp.org/en/stable/client_reference.html#aiohttp.ThreadedResolver",
        event_loop=True,
    ),
    ThreadSource(
        ("anyio.to_thread.run_sync",),
        "anyio.to_thread.run_sync",
        "Runs the function on anyio's worker thread pool; idle workers linger for 10 s.",
        "https://anyio.readthedocs.io/en/stable/threads.html",
        target=(0, "func"),
        event_loop=True,
    ),
    ThreadSource(
        (
            *(f"anyio.Path().{m}" for m in _ANYIO_PATH_IO),
            *(f"anyio._core._fileio.Path().{m}" for m in _ANYIO_PATH_IO),
            "anyio.open_file",
            "anyio.wrap_file",
            "anyio.AsyncFile().*",
        ),
        "anyio.Path",
        "anyio's asynchronous file and path operations run the blocking call with "
        "`anyio.to_thread.run_sync`, on a worker thread.",
        "https://anyio.readthedocs.io/en/stable/fileio.html",
        event_loop=True,
    ),
    ThreadSource(
        (
            "aiofiles.open",
            "aiofiles.threadpool.open",
            "aiofiles.os.*",
            "aiofiles.ospath.*",
            "aiofiles.tempfile.*",
        ),
        "aiofiles.open",
        "aiofiles delegates every file operation to the loop's default executor.",
        "https://github.com/Tinche/aiofiles#aiofiles-file-support-for-asyncio",
        event_loop=True,
    ),
)

# Calls that run an event loop over a coroutine argument (or a function that returns one).
EVENT_LOOP_RUNNERS: tuple[str, ...] = (
    "asyncio.run",
    "asyncio.runners.run",
    "asyncio.Runner().run",
    "anyio.run",
    "trio.run",
    "uvloop.run",
    *_loop("run_until_complete"),
)

# External callables that call one of their arguments on the calling thread:
# (pattern, position, keyword).
CALLBACK_ARGS: tuple[tuple[str, int | None, str | None], ...] = (
    ("builtins.map", 0, None),
    ("builtins.filter", 0, None),
    ("builtins.sorted", None, "key"),
    ("builtins.min", None, "key"),
    ("builtins.max", None, "key"),
    ("functools.reduce", 0, None),
    ("atexit.register", 0, None),
    ("signal.signal", 1, None),
    ("contextvars.copy_context().run", 0, None),
    ("contextvars.Context().run", 0, None),
    *((p, 0, None) for p in _loop("call_soon")),
    *((p, 0, None) for p in _loop("call_soon_threadsafe")),
    *((p, 1, None) for p in _loop("call_later")),
    *((p, 1, None) for p in _loop("call_at")),
    *((p, 1, None) for p in _loop("add_signal_handler")),
)

# Calls whose result is (an element of) an argument: (pattern, position).
PASS_THROUGH: tuple[tuple[str, int], ...] = (
    ("functools.partial", 0),
    ("functools.wraps()", 0),
    ("functools.update_wrapper", 0),
    ("builtins.staticmethod", 0),
    ("builtins.classmethod", 0),
    ("builtins.property", 0),
    ("builtins.list", 0),
    ("builtins.tuple", 0),
    ("builtins.set", 0),
    ("builtins.frozenset", 0),
    ("builtins.sorted", 0),
    ("builtins.reversed", 0),
    ("builtins.iter", 0),
    ("builtins.next", 0),
    ("builtins.filter", 1),
    ("builtins.min", 0),
    ("builtins.max", 0),
    ("builtins.dict", 0),
    ("builtins.enumerate", 0),
    ("builtins.zip", 0),
    ("copy.copy", 0),
    ("copy.deepcopy", 0),
    ("typing.cast", 1),
    ("asyncio.create_task", 0),
    ("asyncio.ensure_future", 0),
    ("asyncio.shield", 0),
    ("asyncio.wait_for", 0),
)
