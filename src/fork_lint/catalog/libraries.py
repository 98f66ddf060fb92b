"""Third-party libraries that start threads behind an ordinary call.

Every entry was checked against the library's source (see ``reference``); the
``why`` text says which thread starts, when, and how long it lives. Entries whose
thread depends on arguments or on the environment say "may" and name the
condition: the catalogue cannot see argument values, so those entries err on the
side of reporting. Native threads (librdkafka, libzmq, gRPC core, the AWS CRT)
count as much as Python threads: ``fork()`` copies only the calling thread, so a
lock held by any other thread stays locked in the child.

Patterns follow the conventions in :mod:`fork_lint.catalog`: dotted import path,
``()`` for a call result, instances of project subclasses fall back to the
external class. Libraries checked and found *not* to start threads are listed in
``docs/catalog.md``.
"""

from __future__ import annotations

from fork_lint.catalog import ThreadSource


def _each(template: str, *values: str) -> tuple[str, ...]:
    """``template`` (with one ``{}``) filled in with each of ``values``."""
    return tuple(template.format(value) for value in values)


# The Qt bindings that expose QtCore.QThread / QThreadPool under the same names.
# qtpy re-exports whichever binding is installed.
_QT_BINDINGS = ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy")

# The boto3 objects that carry the injected S3 managed-transfer methods.
_BOTO3_S3_OBJECTS = (
    "boto3.client()",
    "boto3.Session().client()",
    "boto3.session.Session().client()",
    "boto3.resource().meta.client",
    "boto3.Session().resource().meta.client",
    "boto3.session.Session().resource().meta.client",
    "boto3.resource().Bucket()",
    "boto3.Session().resource().Bucket()",
    "boto3.session.Session().resource().Bucket()",
    "boto3.resource().Object()",
    "boto3.Session().resource().Object()",
    "boto3.session.Session().resource().Object()",
    "boto3.resource().Bucket().Object()",
    "boto3.Session().resource().Bucket().Object()",
    "boto3.session.Session().resource().Bucket().Object()",
)

_BOTO3_TRANSFER_METHODS = (
    "upload_file",
    "download_file",
    "upload_fileobj",
    "download_fileobj",
    "copy",
)

_S3TRANSFER_MANAGERS = (
    "s3transfer.manager.TransferManager()",
    "s3transfer.crt.CRTTransferManager()",
    "boto3.s3.transfer.TransferManager()",
    "boto3.s3.transfer.create_transfer_manager()",
)

_WATCHDOG_OBSERVERS = (
    "watchdog.observers.Observer",
    "watchdog.observers.api.BaseObserver",
    "watchdog.observers.polling.PollingObserver",
    "watchdog.observers.polling.PollingObserverVFS",
    "watchdog.observers.inotify.InotifyObserver",
    "watchdog.observers.fsevents.FSEventsObserver",
    "watchdog.observers.fsevents2.FSEventsObserver2",
    "watchdog.observers.kqueue.KqueueObserver",
    "watchdog.observers.read_directory_changes.WindowsApiObserver",
)

_TQDM_BARS = (
    "tqdm.tqdm",
    "tqdm.trange",
    "tqdm.tqdm_notebook",
    "tqdm.tnrange",
    "tqdm.std.tqdm",
    "tqdm.std.trange",
    "tqdm.auto.tqdm",
    "tqdm.auto.trange",
    "tqdm.autonotebook.tqdm",
    "tqdm.autonotebook.trange",
    "tqdm.notebook.tqdm",
    "tqdm.notebook.trange",
    "tqdm.notebook.tqdm_notebook",
    "tqdm.asyncio.tqdm",
    "tqdm.asyncio.tqdm_asyncio",
    "tqdm.asyncio.trange",
    "tqdm.rich.tqdm",
    "tqdm.rich.trange",
    "tqdm.gui.tqdm",
    "tqdm.gui.trange",
    "tqdm.tk.tqdm",
    "tqdm.tk.trange",
    "tqdm.contrib.tenumerate",
    "tqdm.contrib.tzip",
    "tqdm.contrib.tmap",
    "tqdm.contrib.concurrent.thread_map",
    "tqdm.contrib.concurrent.process_map",
)


# External classes whose subclasses' ``run`` method executes on a new thread when
# ``.start()`` is called on an instance, exactly like ``threading.Thread``
# subclasses (which the core handles itself). The matching ``.start`` calls are
# catalogued below.
THREAD_BASE_CLASSES: tuple[str, ...] = (
    *_each("{}.QtCore.QThread", *_QT_BINDINGS),
    # watchdog's stoppable thread base and the observer/emitter classes built on it.
    "watchdog.utils.BaseThread",
    "watchdog.observers.api.EventEmitter",
    "watchdog.observers.api.EventDispatcher",
    "watchdog.observers.api.BaseObserver",
)


LIBRARY_THREAD_SOURCES: tuple[ThreadSource, ...] = (
    # --- Qt (PyQt5, PyQt6, PySide2, PySide6, qtpy) ---------------------------------
    # A QThread is a native thread object; start() runs run() on it. Subclasses
    # override run(): the core treats those overrides as the thread's code (see
    # THREAD_BASE_CLASSES), so no target argument is given here.
    ThreadSource(
        patterns=_each("{}.QtCore.QThread().start", *_QT_BINDINGS),
        name="QThread.start",
        why=(
            "Starts a new native thread that executes the object's run(): for a subclass its "
            "run() override, otherwise a Qt event loop for objects moved there with "
            "moveToThread(). The thread lives until run() returns (after quit()/exit() for the "
            "event loop)."
        ),
        reference="https://doc.qt.io/qt-6/qthread.html#start",
    ),
    ThreadSource(
        patterns=tuple(
            f"{binding}.QtCore.{pool}.{method}"
            for binding in _QT_BINDINGS
            for pool in ("QThreadPool()", "QThreadPool.globalInstance()")
            for method in ("start", "tryStart", "startOnReservedThread")
        ),
        name="QThreadPool.start",
        why=(
            "Runs the given callable, or a QRunnable's run() method, on a pool thread; the pool "
            "creates worker threads on demand and keeps idle ones alive for expiryTimeout "
            "(30 seconds by default)."
        ),
        reference="https://doc.qt.io/qt-6/qthreadpool.html#start",
        target=(0, None),
    ),
    # --- redis-py ------------------------------------------------------------------
    # run_in_thread is matched on unresolved receivers too: the name says what it
    # does, and every API so named that we know of (redis-py PubSub, ClusterPubSub,
    # keyspace notifications) starts a thread.
    ThreadSource(
        patterns=("redis.*.run_in_thread",),
        name="redis.client.PubSub.run_in_thread",
        why=(
            "Starts a PubSubWorkerThread (a threading.Thread, non-daemon unless daemon=True) "
            "that polls get_message() in a loop and calls the registered handlers; it lives "
            "until the returned thread's stop() is called."
        ),
        reference="https://github.com/redis/redis-py/blob/master/redis/client.py",
        any_receiver_method="run_in_thread",
    ),
    # --- gRPC (grpcio) -------------------------------------------------------------
    ThreadSource(
        patterns=("grpc.server", "grpc.server().start"),
        name="grpc.server",
        why=(
            "grpc.server() initialises gRPC core, which may start native background threads that "
            "live while any server or channel exists; Server.start() starts a daemon thread that "
            "polls the completion queue and hands each RPC to the ThreadPoolExecutor passed to "
            "grpc.server(), whose worker threads run the handlers until Server.stop()."
        ),
        reference="https://github.com/grpc/grpc/blob/master/src/python/grpcio/grpc/_server.py",
    ),
    ThreadSource(
        patterns=("grpc.insecure_channel", "grpc.secure_channel"),
        name="grpc.insecure_channel",
        why=(
            "Creating a channel initialises gRPC core, which may start native background threads "
            "(timer manager, event-engine pool) that stay alive while channels exist; gRPC "
            "documents fork() after creating channels as unsupported unless "
            "GRPC_ENABLE_FORK_SUPPORT is set."
        ),
        reference="https://github.com/grpc/grpc/blob/master/doc/fork_support.md",
    ),
    ThreadSource(
        patterns=("grpc.insecure_channel().subscribe", "grpc.secure_channel().subscribe"),
        name="grpc.Channel.subscribe",
        why=(
            "Starts a daemon thread that polls the channel's connectivity state and another that "
            "delivers each change to the callback; they run while any subscription remains."
        ),
        reference="https://github.com/grpc/grpc/blob/master/src/python/grpcio/grpc/_channel.py",
        target=(0, "callback"),
    ),
    ThreadSource(
        patterns=("grpc.channel_ready_future",),
        name="grpc.channel_ready_future",
        why=(
            "Subscribes to the channel's connectivity, which starts the daemon connectivity "
            "polling thread; it runs until the future is done or cancelled."
        ),
        reference="https://github.com/grpc/grpc/blob/master/src/python/grpcio/grpc/_utilities.py",
    ),
    ThreadSource(
        patterns=("grpc.aio.insecure_channel", "grpc.aio.secure_channel", "grpc.aio.server"),
        name="grpc.aio.insecure_channel",
        why=(
            "The first grpc.aio channel or server initialises the asyncio stack; its default "
            "poller engine starts a daemon thread that blocks on gRPC core's completion queue and "
            "wakes the event loop. It lives until the last grpc.aio channel and server are closed."
        ),
        reference=(
            "https://github.com/grpc/grpc/blob/master/src/python/grpcio/grpc/_cython/_cygrpc/"
            "aio/completion_queue.pyx.pxi"
        ),
    ),
    # --- Sentry --------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "sentry_sdk.init",
            "sentry_sdk.Client",
            "sentry_sdk.client.Client",
            "sentry_sdk.client._Client",
        ),
        name="sentry_sdk.init",
        why=(
            "Creates the client and its transport. The transport's daemon worker thread "
            "(sentry-sdk.BackgroundWorker) starts when the first event is queued, and the session "
            "flusher, log/metric batch flushers and backpressure monitor start daemon threads on "
            "first use; they live until the client is closed or the process exits."
        ),
        reference="https://github.com/getsentry/sentry-python/blob/master/sentry_sdk/worker.py",
    ),
    # --- OpenTelemetry SDK ---------------------------------------------------------
    ThreadSource(
        patterns=("opentelemetry.sdk.trace.export.BatchSpanProcessor",),
        name="opentelemetry.sdk.trace.export.BatchSpanProcessor",
        why=(
            "The constructor starts the daemon thread OtelBatchSpanRecordProcessor, which exports "
            "queued spans every schedule_delay_millis until shutdown()."
        ),
        reference=(
            "https://github.com/open-telemetry/opentelemetry-python/blob/main/opentelemetry-sdk/"
            "src/opentelemetry/sdk/_shared_internal/__init__.py"
        ),
    ),
    ThreadSource(
        patterns=(
            "opentelemetry.sdk._logs.export.BatchLogRecordProcessor",
            "opentelemetry.sdk._logs._internal.export.BatchLogRecordProcessor",
        ),
        name="opentelemetry.sdk._logs.export.BatchLogRecordProcessor",
        why=(
            "The constructor starts the daemon thread OtelBatchLogRecordProcessor, which exports "
            "queued log records every schedule_delay_millis until shutdown()."
        ),
        reference=(
            "https://github.com/open-telemetry/opentelemetry-python/blob/main/opentelemetry-sdk/"
            "src/opentelemetry/sdk/_shared_internal/__init__.py"
        ),
    ),
    ThreadSource(
        patterns=(
            "opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader",
            "opentelemetry.sdk.metrics._internal.export.PeriodicExportingMetricReader",
        ),
        name="opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader",
        why=(
            "The constructor starts the daemon thread OtelPeriodicExportingMetricReader, which "
            "collects and exports metrics every export_interval_millis (60 s by default) until "
            "shutdown(); no thread is started when the interval is infinite."
        ),
        reference=(
            "https://github.com/open-telemetry/opentelemetry-python/blob/main/opentelemetry-sdk/"
            "src/opentelemetry/sdk/metrics/_internal/export/__init__.py"
        ),
    ),
    # --- prometheus_client ---------------------------------------------------------
    ThreadSource(
        patterns=(
            "prometheus_client.start_http_server",
            "prometheus_client.start_wsgi_server",
            "prometheus_client.exposition.start_http_server",
            "prometheus_client.exposition.start_wsgi_server",
        ),
        name="prometheus_client.start_http_server",
        why=(
            "Starts a daemon thread running the metrics server's serve_forever(), and each scrape "
            "is served on a further daemon thread; the server thread lives until the process "
            "exits or the returned server is shut down."
        ),
        reference=(
            "https://github.com/prometheus/client_python/blob/master/prometheus_client/"
            "exposition.py"
        ),
    ),
    # --- watchdog ------------------------------------------------------------------
    # Observers are threading.Thread subclasses (via watchdog.utils.BaseThread).
    ThreadSource(
        patterns=_each("{}().start", *_WATCHDOG_OBSERVERS),
        name="watchdog.observers.Observer.start",
        why=(
            "The observer is itself a daemon thread that dispatches file-system events to the "
            "handlers; start() starts it and one emitter thread per scheduled watch (later "
            "schedule() calls add more). They run until stop()."
        ),
        reference=(
            "https://github.com/gorakhargosh/watchdog/blob/master/src/watchdog/observers/api.py"
        ),
    ),
    ThreadSource(
        patterns=(
            "watchdog.utils.BaseThread().start",
            "watchdog.observers.api.EventEmitter().start",
            "watchdog.observers.api.EventDispatcher().start",
        ),
        name="watchdog.utils.BaseThread.start",
        why=(
            "BaseThread is a threading.Thread subclass that always runs as a daemon; start() runs "
            "the instance's run() on a new thread until it returns or stop() is honoured."
        ),
        reference=(
            "https://github.com/gorakhargosh/watchdog/blob/master/src/watchdog/utils/__init__.py"
        ),
    ),
    # --- paho-mqtt -----------------------------------------------------------------
    # loop_start is matched on unresolved receivers too: MQTT clients usually live in
    # attributes, and no other widely used API has a method of that name.
    ThreadSource(
        patterns=("paho.mqtt.client.Client().loop_start",),
        name="paho.mqtt.client.Client.loop_start",
        why=(
            "Starts the daemon network-loop thread paho-mqtt-client-<id>, which handles "
            "reconnects and runs the on_connect/on_message/... callbacks; it lives until "
            "loop_stop()."
        ),
        reference=(
            "https://github.com/eclipse-paho/paho.mqtt.python/blob/master/src/paho/mqtt/client.py"
        ),
        any_receiver_method="loop_start",
    ),
    # --- APScheduler ---------------------------------------------------------------
    ThreadSource(
        patterns=("apscheduler.schedulers.background.BackgroundScheduler().start",),
        name="apscheduler.schedulers.background.BackgroundScheduler.start",
        why=(
            "Starts the scheduler's main loop on a thread named APScheduler (daemon by default) "
            "and creates the default thread-pool executor on which jobs run; it lives until "
            "shutdown()."
        ),
        reference=(
            "https://github.com/agronholm/apscheduler/blob/3.x/apscheduler/schedulers/background.py"
        ),
    ),
    ThreadSource(
        patterns=_each(
            "apscheduler.schedulers.{}().add_job",
            "background.BackgroundScheduler",
            "blocking.BlockingScheduler",
            "qt.QtScheduler",
        ),
        name="apscheduler.schedulers.base.BaseScheduler.add_job",
        why=(
            "With the default executor of these schedulers (a concurrent.futures thread pool), "
            "the job function runs on a pool worker thread each time the job fires; the pool's "
            "threads live until the scheduler is shut down."
        ),
        reference=(
            "https://github.com/agronholm/apscheduler/blob/3.x/apscheduler/executors/pool.py"
        ),
        target=(0, "func"),
    ),
    ThreadSource(
        patterns=tuple(
            f"{cls}().{method}"
            for cls in ("apscheduler.Scheduler", "apscheduler._schedulers.sync.Scheduler")
            for method in ("start_in_background", "configure_task", "subscribe")
        ),
        name="apscheduler.Scheduler.start_in_background",
        why=(
            "APScheduler 4's synchronous Scheduler runs its async core on an event-loop thread "
            "(an AnyIO blocking portal) that the first such call starts; it lives until the "
            "scheduler is stopped or the process exits."
        ),
        reference=(
            "https://github.com/agronholm/apscheduler/blob/master/src/apscheduler/_schedulers/"
            "sync.py"
        ),
    ),
    ThreadSource(
        patterns=tuple(
            f"{cls}().{method}"
            for cls in ("apscheduler.Scheduler", "apscheduler._schedulers.sync.Scheduler")
            for method in ("add_job", "add_schedule", "run_job")
        ),
        name="apscheduler.Scheduler.add_job",
        why=(
            "Starts the scheduler's event-loop thread (an AnyIO blocking portal) if it is not "
            "running; a plain function job then runs on a worker thread of the threadpool "
            "executor."
        ),
        reference=(
            "https://github.com/agronholm/apscheduler/blob/master/src/apscheduler/_schedulers/"
            "sync.py"
        ),
        target=(0, "func_or_task_id"),
    ),
    # --- kafka-python --------------------------------------------------------------
    ThreadSource(
        patterns=(
            "kafka.KafkaProducer",
            "kafka.producer.KafkaProducer",
            "kafka.producer.kafka.KafkaProducer",
        ),
        name="kafka.KafkaProducer",
        why=(
            "The constructor starts the daemon Sender thread that batches and sends records to "
            "the brokers (and, in kafka-python 3, the network I/O thread); they live until "
            "close()."
        ),
        reference="https://github.com/dpkp/kafka-python/blob/master/kafka/producer/kafka.py",
    ),
    ThreadSource(
        patterns=(
            "kafka.KafkaConsumer",
            "kafka.consumer.KafkaConsumer",
            "kafka.consumer.group.KafkaConsumer",
            "kafka.KafkaConsumer().poll",
            "kafka.consumer.KafkaConsumer().poll",
            "kafka.consumer.group.KafkaConsumer().poll",
        ),
        name="kafka.KafkaConsumer",
        why=(
            "kafka-python 3 starts the daemon network I/O thread kafka-io-<client_id> in the "
            "constructor; kafka-python 2 starts the group heartbeat thread on the first poll() "
            "with a group_id. Both live until close()."
        ),
        reference="https://github.com/dpkp/kafka-python/blob/master/kafka/consumer/group.py",
    ),
    ThreadSource(
        patterns=(
            "kafka.KafkaAdminClient",
            "kafka.admin.KafkaAdminClient",
            "kafka.admin.client.KafkaAdminClient",
        ),
        name="kafka.KafkaAdminClient",
        why=(
            "kafka-python 3 starts the daemon network I/O thread kafka-io-<client_id> in the "
            "constructor; it lives until close()."
        ),
        reference="https://github.com/dpkp/kafka-python/blob/master/kafka/admin/client.py",
    ),
    # --- confluent-kafka (librdkafka) ----------------------------------------------
    ThreadSource(
        patterns=(
            "confluent_kafka.Producer",
            "confluent_kafka.Consumer",
            "confluent_kafka.ShareConsumer",
            "confluent_kafka.cimpl.Producer",
            "confluent_kafka.cimpl.Consumer",
            "confluent_kafka.cimpl.ShareConsumer",
            "confluent_kafka.SerializingProducer",
            "confluent_kafka.DeserializingConsumer",
            "confluent_kafka.admin.AdminClient",
            "confluent_kafka.avro.AvroProducer",
            "confluent_kafka.avro.AvroConsumer",
            "confluent_kafka.aio.AIOProducer",
            "confluent_kafka.aio.AIOConsumer",
        ),
        name="confluent_kafka.Producer",
        why=(
            "Every client wraps an rd_kafka_new() handle: librdkafka starts its native main "
            "thread in the constructor and one native thread per broker as brokers are "
            "discovered; they live until the client is closed and garbage-collected."
        ),
        reference="https://github.com/confluentinc/librdkafka/blob/master/src/rdkafka.c",
    ),
    # --- boto3 / s3transfer --------------------------------------------------------
    ThreadSource(
        patterns=tuple(
            f"{obj}.{method}" for obj in _BOTO3_S3_OBJECTS for method in _BOTO3_TRANSFER_METHODS
        ),
        name="boto3 S3 managed transfer",
        why=(
            "Managed transfers run on s3transfer's worker thread pools (the Callback runs on "
            "them), joined before the call returns; when the AWS CRT client is selected "
            "(awscrt installed and preferred_transfer_client='crt', or 'auto' on an optimised "
            "instance) the call creates a process-wide CRT client whose native event-loop "
            "threads live until exit."
        ),
        reference="https://github.com/boto/boto3/blob/develop/boto3/s3/inject.py",
        target=(None, "Callback"),
        transient=True,
    ),
    ThreadSource(
        patterns=(
            "boto3.s3.transfer.S3Transfer().upload_file",
            "boto3.s3.transfer.S3Transfer().download_file",
        ),
        name="boto3.s3.transfer.S3Transfer",
        why=(
            "The transfer runs on the worker threads of the S3Transfer's TransferManager, which "
            "stay alive (idle) after the call returns until the S3Transfer is shut down or used "
            "as a context manager."
        ),
        reference="https://github.com/boto/boto3/blob/develop/boto3/s3/transfer.py",
        target=(None, "callback"),
    ),
    ThreadSource(
        patterns=tuple(
            f"{manager}.{method}"
            for manager in _S3TRANSFER_MANAGERS
            for method in ("upload", "download", "copy", "delete")
        ),
        name="s3transfer.manager.TransferManager.upload",
        why=(
            "Submits the transfer to the manager's thread pools and returns a future; the "
            "submission, request and I/O worker threads stay alive until shutdown() or the end "
            "of the with block (the CRT manager uses native event-loop threads instead)."
        ),
        reference="https://github.com/boto/s3transfer/blob/develop/s3transfer/manager.py",
    ),
    # --- tqdm ----------------------------------------------------------------------
    ThreadSource(
        patterns=_TQDM_BARS,
        name="tqdm.tqdm",
        why=(
            "Creating a progress bar starts the class-wide TMonitor daemon thread (unless "
            "tqdm.monitor_interval is 0); it wakes every 10 s to refresh stalled bars and "
            "lives until interpreter exit."
        ),
        reference="https://github.com/tqdm/tqdm/blob/master/tqdm/_monitor.py",
    ),
    # --- Dask ----------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "distributed.Client",
            "distributed.client.Client",
            "dask.distributed.Client",
            "distributed.LocalCluster",
            "distributed.deploy.local.LocalCluster",
            "dask.distributed.LocalCluster",
        ),
        name="distributed.Client",
        why=(
            "Starts the daemon IO loop thread that runs the client's (or cluster's) Tornado "
            "event loop, plus offload threads; Client() without an address also starts a "
            "LocalCluster. They live until close()."
        ),
        reference="https://github.com/dask/distributed/blob/main/distributed/utils.py",
    ),
    ThreadSource(
        patterns=(
            "dask.compute",
            "dask.persist",
            "dask.base.compute",
            "dask.base.persist",
            "dask.threaded.get",
            "dask.*().compute",
            "dask.*().persist",
        ),
        name="dask.compute",
        why=(
            "With the default threaded scheduler (dask.array, dask.dataframe, dask.delayed) the "
            "graph runs on a module-level thread pool that is created on first use and kept "
            "alive, with its worker threads, until interpreter exit."
        ),
        reference="https://github.com/dask/dask/blob/main/dask/threaded.py",
    ),
    # --- Google Cloud client libraries ---------------------------------------------
    ThreadSource(
        patterns=(
            "google.cloud.pubsub.PublisherClient().publish",
            "google.cloud.pubsub_v1.PublisherClient().publish",
            "google.cloud.pubsub_v1.publisher.Client().publish",
            "google.cloud.pubsub_v1.publisher.client.Client().publish",
        ),
        name="google.cloud.pubsub_v1.PublisherClient.publish",
        why=(
            "Queuing a message starts a daemon batch-commit thread that publishes the batch after "
            "max_latency; a new one is started for each batch."
        ),
        reference=(
            "https://github.com/googleapis/python-pubsub/blob/main/google/cloud/pubsub_v1/"
            "publisher/client.py"
        ),
    ),
    ThreadSource(
        patterns=(
            "google.cloud.pubsub.SubscriberClient().subscribe",
            "google.cloud.pubsub_v1.SubscriberClient().subscribe",
            "google.cloud.pubsub_v1.subscriber.Client().subscribe",
            "google.cloud.pubsub_v1.subscriber.client.Client().subscribe",
        ),
        name="google.cloud.pubsub_v1.SubscriberClient.subscribe",
        why=(
            "Opens a streaming pull that starts consumer, dispatcher, leaser and heartbeater "
            "threads and runs the callback on a thread pool; they live until the returned "
            "future is cancelled or fails."
        ),
        reference=(
            "https://github.com/googleapis/python-pubsub/blob/main/google/cloud/pubsub_v1/"
            "subscriber/_protocol/streaming_pull_manager.py"
        ),
        target=(1, "callback"),
    ),
    ThreadSource(
        patterns=(
            "google.cloud.logging*.Client().setup_logging",
            "google.cloud.logging*.Client().get_default_handler",
            "google.cloud.logging*.handlers.CloudLoggingHandler",
            "google.cloud.logging*.handlers.handlers.CloudLoggingHandler",
            "google.cloud.logging*.handlers.AppEngineHandler",
            "google.cloud.logging*.handlers.app_engine.AppEngineHandler",
            "google.cloud.logging*.handlers.transports.BackgroundThreadTransport",
            "google.cloud.logging*.handlers.transports.background_thread.BackgroundThreadTransport",
        ),
        name="google.cloud.logging.handlers.CloudLoggingHandler",
        why=(
            "CloudLoggingHandler's default BackgroundThreadTransport starts a daemon worker thread "
            "that batches and sends log entries until exit; setup_logging() may create one (it "
            "picks a stdout-only handler, with no thread, on GKE, Cloud Run and Cloud Functions)."
        ),
        reference=(
            "https://github.com/googleapis/python-logging/blob/main/google/cloud/logging_v2/"
            "handlers/transports/background_thread.py"
        ),
    ),
    # --- Datadog -------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "ddtrace.patch_all",
            "ddtrace.patch",
            "ddtrace._monkey.patch_all",
            "ddtrace._monkey.patch",
            "ddtrace.tracer.trace",
            "ddtrace.tracer.start_span",
            "ddtrace.trace.tracer.trace",
            "ddtrace.trace.tracer.start_span",
        ),
        name="ddtrace.patch_all",
        why=(
            "May start threads: importing ddtrace starts its telemetry workers (enabled by "
            "default), and the trace writer's periodic flush thread starts when the first span "
            "is finished, which any patched library call can do; both live until exit."
        ),
        reference=(
            "https://github.com/DataDog/dd-trace-py/blob/main/ddtrace/internal/writer/writer.py"
        ),
    ),
    ThreadSource(
        patterns=(
            "datadog.ThreadStats().start",
            "datadog.threadstats.ThreadStats().start",
            "datadog.threadstats.base.ThreadStats().start",
        ),
        name="datadog.threadstats.ThreadStats.start",
        why=(
            "With flush_in_thread=True (the default) starts a daemon periodic timer thread that "
            "flushes metrics every flush_interval until stop()."
        ),
        reference="https://github.com/DataDog/datadogpy/blob/master/datadog/threadstats/base.py",
    ),
    # enable_background_sender is datadogpy's own name; matched on any receiver.
    ThreadSource(
        patterns=(
            "datadog.statsd.enable_background_sender",
            "datadog.dogstatsd.statsd.enable_background_sender",
            "datadog.DogStatsd().enable_background_sender",
            "datadog.dogstatsd.DogStatsd().enable_background_sender",
            "datadog.dogstatsd.base.DogStatsd().enable_background_sender",
        ),
        name="datadog.dogstatsd.DogStatsd.enable_background_sender",
        why=(
            "Starts the daemon sender thread that writes queued metric packets to the DogStatsD "
            "socket; it lives until disable_background_sender() or exit."
        ),
        reference="https://github.com/DataDog/datadogpy/blob/master/datadog/dogstatsd/base.py",
        any_receiver_method="enable_background_sender",
    ),
    # --- New Relic -----------------------------------------------------------------
    ThreadSource(
        patterns=(
            "newrelic.agent.register_application",
            "newrelic.api.application.register_application",
        ),
        name="newrelic.agent.register_application",
        why=(
            "Starts the daemon thread NR-Activate-Session that connects to the collector, which "
            "in turn starts the daemon NR-Harvest-Thread; the harvest thread lives until agent "
            "shutdown at exit."
        ),
        reference="https://github.com/newrelic/newrelic-python-agent/blob/main/newrelic/core/agent.py",
    ),
    ThreadSource(
        patterns=("newrelic.agent.initialize", "newrelic.config.initialize"),
        name="newrelic.agent.initialize",
        why=(
            "May start threads: with Agent Control health checks enabled it starts a health "
            "thread at once, and the instrumentation it installs activates the agent (session "
            "and harvest threads) on the first monitored transaction."
        ),
        reference="https://github.com/newrelic/newrelic-python-agent/blob/main/newrelic/config.py",
    ),
    # --- Elastic APM ---------------------------------------------------------------
    ThreadSource(
        patterns=(
            "elasticapm.Client",
            "elasticapm.base.Client",
            "elasticapm.contrib.flask.ElasticAPM",
            "elasticapm.contrib.flask.ElasticAPM().init_app",
        ),
        name="elasticapm.Client",
        why=(
            "When the agent is enabled (the default) the constructor starts the transport's "
            "event processor thread and the metrics and central-config timer threads; they "
            "live until close()."
        ),
        reference="https://github.com/elastic/apm-agent-python/blob/main/elasticapm/base.py",
    ),
    # --- loguru --------------------------------------------------------------------
    ThreadSource(
        patterns=("loguru.logger.add", "loguru._logger.Logger().add"),
        name="loguru.logger.add",
        why=(
            "May start a thread: with enqueue=True the new handler starts a daemon writer thread "
            "loguru-writer-<id> that drains the message queue until the handler is removed; "
            "without enqueue no thread is started."
        ),
        reference="https://github.com/Delgan/loguru/blob/master/loguru/_handler.py",
        only_if=(("enqueue", True),),
    ),
    # --- psycopg_pool --------------------------------------------------------------
    ThreadSource(
        patterns=tuple(
            f"psycopg_pool.{cls}{suffix}"
            for cls in (
                "ConnectionPool",
                "pool.ConnectionPool",
                "NullConnectionPool",
                "null_pool.NullConnectionPool",
            )
            for suffix in ("", "().open")
        ),
        name="psycopg_pool.ConnectionPool",
        why=(
            "Opening the pool (in the constructor unless open=False, or by open()) starts a "
            "daemon scheduler thread and num_workers (3) daemon worker threads that fill and "
            "check connections; they live until close()."
        ),
        reference="https://github.com/psycopg/psycopg/blob/master/psycopg_pool/psycopg_pool/pool.py",
    ),
    # --- Werkzeug / Flask development server ---------------------------------------
    ThreadSource(
        patterns=("werkzeug.serving.run_simple", "werkzeug.run_simple"),
        name="werkzeug.serving.run_simple",
        why=(
            "May start threads: with threaded=True each request is served on a new daemon "
            "thread, and with use_reloader=True the server itself runs on a daemon thread while "
            "the main thread watches files; the call blocks until the server stops."
        ),
        reference="https://github.com/pallets/werkzeug/blob/main/src/werkzeug/serving.py",
        only_if=(("threaded", True), ("use_reloader", True)),
    ),
    ThreadSource(
        patterns=("flask.Flask().run", "flask.app.Flask().run"),
        name="flask.Flask.run",
        why=(
            "Runs Werkzeug's development server with threaded=True by default, so each request "
            "is served on a new daemon thread (and with the reloader the server runs on a "
            "thread of its own); the call blocks until the server stops."
        ),
        reference="https://github.com/pallets/flask/blob/main/src/flask/app.py",
    ),
    # --- Jupyter -------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "ipykernel.kernelapp.IPKernelApp().initialize",
            "ipykernel.kernelapp.IPKernelApp.instance().initialize",
        ),
        name="ipykernel.kernelapp.IPKernelApp.initialize",
        why=(
            "Starts the kernel's daemon heartbeat, IOPub, control and shell-channel threads; they "
            "live as long as the kernel process."
        ),
        reference="https://github.com/ipython/ipykernel/blob/main/ipykernel/kernelapp.py",
    ),
    ThreadSource(
        patterns=(
            "jupyter_client.*KernelClient().start_channels",
            "jupyter_client.*KernelManager().client().start_channels",
            "jupyter_client.manager.start_new_kernel",
            "jupyter_client.run_kernel",
            "jupyter_client.manager.run_kernel",
        ),
        name="jupyter_client.KernelClient.start_channels",
        why=(
            "Starts the heartbeat channel, a daemon thread that pings the kernel until "
            "stop_channels() (ThreadedKernelClient also starts an IO loop thread)."
        ),
        reference="https://github.com/jupyter/jupyter_client/blob/main/jupyter_client/channels.py",
    ),
    # --- MongoDB -------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "pymongo.MongoClient",
            "pymongo.mongo_client.MongoClient",
            "pymongo.synchronous.mongo_client.MongoClient",
            "mongoengine.connect",
            "mongoengine.connection.connect",
        ),
        name="pymongo.MongoClient",
        why=(
            "With connect=True (the default outside FaaS platforms) the constructor starts daemon "
            "server-monitor, RTT-monitor and cursor-cleanup threads (otherwise the first "
            "operation does); they live until close(). PyMongo documents MongoClient as not "
            "fork-safe."
        ),
        reference=(
            "https://github.com/mongodb/mongo-python-driver/blob/master/pymongo/synchronous/"
            "mongo_client.py"
        ),
    ),
    # --- ZeroMQ (pyzmq / libzmq) ---------------------------------------------------
    ThreadSource(
        patterns=(
            "zmq.Context().socket",
            "zmq.Context.instance().socket",
            "zmq.*.Context().socket",
            "zmq.*.Context.instance().socket",
            "zmq.Socket",
            "zmq.*.Socket",
        ),
        name="zmq.Context.socket",
        why=(
            "libzmq starts a context's native reaper thread and its I/O threads (io_threads, 1 "
            "by default) when the first socket is created; they live until the context is "
            "terminated."
        ),
        reference="https://github.com/zeromq/libzmq/blob/master/src/ctx.cpp",
    ),
    # --- joblib --------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "joblib.Parallel()",
            "joblib.parallel.Parallel()",
            "sklearn.utils.parallel.Parallel()",
        ),
        name="joblib.Parallel.__call__",
        why=(
            "With the default loky backend and n_jobs != 1, running the jobs creates a reusable "
            "process executor whose executor-manager thread stays alive after the call, until "
            "the executor is shut down at exit; the threading backend uses a thread pool."
        ),
        reference="https://github.com/joblib/joblib/blob/main/joblib/_parallel_backends.py",
    ),
    # --- Apache Cassandra / ScyllaDB driver ----------------------------------------
    ThreadSource(
        patterns=("cassandra.cluster.Cluster", "cassandra.cluster.Cluster().connect"),
        name="cassandra.cluster.Cluster",
        why=(
            "The constructor starts the daemon Task Scheduler thread and a thread pool; "
            "connect() starts the connection reactor's event-loop thread. They live until "
            "shutdown()."
        ),
        reference="https://github.com/datastax/python-driver/blob/master/cassandra/cluster.py",
    ),
    # --- kazoo (ZooKeeper) ---------------------------------------------------------
    ThreadSource(
        patterns=("kazoo.client.KazooClient().start", "kazoo.client.KazooClient().start_async"),
        name="kazoo.client.KazooClient.start",
        why=(
            "Starts the threading handler's daemon callback/completion worker threads and the "
            "connection thread running the ZooKeeper loop; they live until stop()."
        ),
        reference="https://github.com/python-zk/kazoo/blob/master/kazoo/client.py",
    ),
    # --- PostHog -------------------------------------------------------------------
    ThreadSource(
        patterns=(
            "posthog.Posthog",
            "posthog.Client",
            "posthog.client.Client",
            "posthog.capture",
            "posthog.setup",
        ),
        name="posthog.Posthog",
        why=(
            "Unless sync_mode=True or send=False, the client starts daemon consumer threads that "
            "batch and upload events until shutdown() or exit; module-level posthog.capture() "
            "creates that client on first use."
        ),
        reference="https://github.com/PostHog/posthog-python/blob/master/posthog/client.py",
    ),
    # --- AnyIO ---------------------------------------------------------------------
    ThreadSource(
        patterns=("anyio.from_thread.start_blocking_portal",),
        name="anyio.from_thread.start_blocking_portal",
        why=(
            "Starts a daemon thread running a new event loop that serves the portal; it lives "
            "until the context manager exits."
        ),
        reference="https://github.com/agronholm/anyio/blob/master/src/anyio/from_thread.py",
    ),
)
