"""The built-in catalogue of third-party thread sources: shape and matching."""

from __future__ import annotations

import fnmatch
import re

import pytest

from fork_lint.catalog import ThreadSource
from fork_lint.catalog.libraries import LIBRARY_THREAD_SOURCES, THREAD_BASE_CLASSES

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# Modules the core catalogue owns; library entries must not claim them.
_STDLIB_ROOTS = {"threading", "_thread", "concurrent", "asyncio", "multiprocessing", "os"}
# Method names matched on unresolved receivers; each was chosen on purpose.
_ANY_RECEIVER = {"run_in_thread", "loop_start", "enable_background_sender"}


def _entry_id(entry: ThreadSource) -> str:
    return entry.name


def _matching(path: str) -> list[str]:
    return [entry.name for entry in LIBRARY_THREAD_SOURCES if entry.matches(path)]


def test_catalogue_is_substantial() -> None:
    assert len(LIBRARY_THREAD_SOURCES) >= 30


@pytest.mark.parametrize("entry", LIBRARY_THREAD_SOURCES, ids=_entry_id)
def test_entry_is_documented(entry: ThreadSource) -> None:
    assert entry.name.strip() == entry.name
    assert entry.name
    assert entry.why.strip()
    assert entry.why.endswith(".")
    assert entry.reference.startswith("https://")
    assert not any(ch.isspace() for ch in entry.reference)
    assert entry.patterns
    assert not entry.event_loop


@pytest.mark.parametrize("entry", LIBRARY_THREAD_SOURCES, ids=_entry_id)
def test_patterns_are_well_formed(entry: ThreadSource) -> None:
    for pattern in entry.patterns:
        assert pattern
        assert not any(ch.isspace() for ch in pattern), pattern
        # Only `*` is used as a wildcard: `?` and `[...]` would be surprising here.
        assert not set(pattern) & set("?[]!"), pattern
        # Parentheses only ever appear as the `()` call marker.
        assert "(" not in pattern.replace("()", ""), pattern
        assert ")" not in pattern.replace("()", ""), pattern
        root = pattern.split(".", 1)[0]
        assert _IDENTIFIER.fullmatch(root), f"pattern must start with a module name: {pattern}"
        assert root not in _STDLIB_ROOTS, pattern
        re.compile(fnmatch.translate(pattern))


def test_names_are_unique() -> None:
    names = [entry.name for entry in LIBRARY_THREAD_SOURCES]
    assert len(names) == len(set(names))


def test_patterns_are_unique() -> None:
    patterns = [p for entry in LIBRARY_THREAD_SOURCES for p in entry.patterns]
    assert len(patterns) == len(set(patterns))


@pytest.mark.parametrize(
    "entry", [e for e in LIBRARY_THREAD_SOURCES if e.target is not None], ids=_entry_id
)
def test_targets_are_well_formed(entry: ThreadSource) -> None:
    assert entry.target is not None
    position, keyword = entry.target
    assert position is not None or keyword is not None
    assert position is None or position >= 0
    assert keyword is None or _IDENTIFIER.fullmatch(keyword)


def test_any_receiver_methods_are_the_chosen_few() -> None:
    chosen = {e.any_receiver_method for e in LIBRARY_THREAD_SOURCES} - {None}
    assert chosen == _ANY_RECEIVER
    for entry in LIBRARY_THREAD_SOURCES:
        if entry.any_receiver_method is not None:
            suffix = "." + entry.any_receiver_method
            assert all(p.endswith(suffix) for p in entry.patterns), entry.name


def test_thread_base_classes() -> None:
    assert len(THREAD_BASE_CLASSES) == len(set(THREAD_BASE_CLASSES))
    assert "threading.Thread" not in THREAD_BASE_CLASSES
    for cls in THREAD_BASE_CLASSES:
        assert _DOTTED.fullmatch(cls), cls
        assert cls.split(".", 1)[0] not in _STDLIB_ROOTS
    for binding in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
        assert f"{binding}.QtCore.QThread" in THREAD_BASE_CLASSES


@pytest.mark.parametrize("cls", THREAD_BASE_CLASSES)
def test_thread_base_class_start_is_a_thread_source(cls: str) -> None:
    assert _matching(f"{cls}().start"), cls


@pytest.mark.parametrize(
    ("path", "name"),
    [
        # Qt
        ("PyQt5.QtCore.QThread().start", "QThread.start"),
        ("PyQt6.QtCore.QThread().start", "QThread.start"),
        ("PySide2.QtCore.QThread().start", "QThread.start"),
        ("PySide6.QtCore.QThread().start", "QThread.start"),
        ("qtpy.QtCore.QThread().start", "QThread.start"),
        ("PyQt5.QtCore.QThreadPool.globalInstance().start", "QThreadPool.start"),
        ("PySide6.QtCore.QThreadPool().tryStart", "QThreadPool.start"),
        # redis
        ("redis.Redis().pubsub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        ("redis.StrictRedis().pubsub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        ("redis.client.Redis().pubsub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        ("redis.client.PubSub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        ("redis.RedisCluster().pubsub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        ("redis.from_url().pubsub().run_in_thread", "redis.client.PubSub.run_in_thread"),
        # gRPC
        ("grpc.server", "grpc.server"),
        ("grpc.server().start", "grpc.server"),
        ("grpc.insecure_channel", "grpc.insecure_channel"),
        ("grpc.secure_channel", "grpc.insecure_channel"),
        ("grpc.insecure_channel().subscribe", "grpc.Channel.subscribe"),
        ("grpc.channel_ready_future", "grpc.channel_ready_future"),
        ("grpc.aio.server", "grpc.aio.insecure_channel"),
        ("grpc.aio.secure_channel", "grpc.aio.insecure_channel"),
        # Sentry, OpenTelemetry, Prometheus
        ("sentry_sdk.init", "sentry_sdk.init"),
        ("sentry_sdk.Client", "sentry_sdk.init"),
        (
            "opentelemetry.sdk.trace.export.BatchSpanProcessor",
            "opentelemetry.sdk.trace.export.BatchSpanProcessor",
        ),
        (
            "opentelemetry.sdk._logs.export.BatchLogRecordProcessor",
            "opentelemetry.sdk._logs.export.BatchLogRecordProcessor",
        ),
        (
            "opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader",
            "opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader",
        ),
        ("prometheus_client.start_http_server", "prometheus_client.start_http_server"),
        ("prometheus_client.exposition.start_wsgi_server", "prometheus_client.start_http_server"),
        # watchdog, paho
        ("watchdog.observers.Observer().start", "watchdog.observers.Observer.start"),
        (
            "watchdog.observers.polling.PollingObserver().start",
            "watchdog.observers.Observer.start",
        ),
        ("watchdog.utils.BaseThread().start", "watchdog.utils.BaseThread.start"),
        ("paho.mqtt.client.Client().loop_start", "paho.mqtt.client.Client.loop_start"),
        # APScheduler
        (
            "apscheduler.schedulers.background.BackgroundScheduler().start",
            "apscheduler.schedulers.background.BackgroundScheduler.start",
        ),
        (
            "apscheduler.schedulers.background.BackgroundScheduler().add_job",
            "apscheduler.schedulers.base.BaseScheduler.add_job",
        ),
        (
            "apscheduler.Scheduler().start_in_background",
            "apscheduler.Scheduler.start_in_background",
        ),
        ("apscheduler.Scheduler().add_schedule", "apscheduler.Scheduler.add_job"),
        # Kafka
        ("kafka.KafkaProducer", "kafka.KafkaProducer"),
        ("kafka.KafkaConsumer", "kafka.KafkaConsumer"),
        ("kafka.KafkaConsumer().poll", "kafka.KafkaConsumer"),
        ("kafka.KafkaAdminClient", "kafka.KafkaAdminClient"),
        ("confluent_kafka.Producer", "confluent_kafka.Producer"),
        ("confluent_kafka.Consumer", "confluent_kafka.Producer"),
        ("confluent_kafka.admin.AdminClient", "confluent_kafka.Producer"),
        ("confluent_kafka.SerializingProducer", "confluent_kafka.Producer"),
        # boto3 / s3transfer
        ("boto3.client().upload_file", "boto3 S3 managed transfer"),
        ("boto3.session.Session().client().download_file", "boto3 S3 managed transfer"),
        ("boto3.resource().Bucket().upload_fileobj", "boto3 S3 managed transfer"),
        ("boto3.resource().Object().download_fileobj", "boto3 S3 managed transfer"),
        ("boto3.client().copy", "boto3 S3 managed transfer"),
        ("boto3.s3.transfer.S3Transfer().upload_file", "boto3.s3.transfer.S3Transfer"),
        (
            "s3transfer.manager.TransferManager().upload",
            "s3transfer.manager.TransferManager.upload",
        ),
        # tqdm
        ("tqdm.tqdm", "tqdm.tqdm"),
        ("tqdm.auto.tqdm", "tqdm.tqdm"),
        ("tqdm.std.tqdm", "tqdm.tqdm"),
        ("tqdm.trange", "tqdm.tqdm"),
        ("tqdm.contrib.concurrent.thread_map", "tqdm.tqdm"),
        # Dask
        ("distributed.Client", "distributed.Client"),
        ("dask.distributed.Client", "distributed.Client"),
        ("dask.distributed.LocalCluster", "distributed.Client"),
        ("dask.compute", "dask.compute"),
        ("dask.array.from_array().sum().compute", "dask.compute"),
        ("dask.dataframe.read_csv().persist", "dask.compute"),
        # Google Cloud
        (
            "google.cloud.pubsub_v1.PublisherClient().publish",
            "google.cloud.pubsub_v1.PublisherClient.publish",
        ),
        (
            "google.cloud.pubsub_v1.SubscriberClient().subscribe",
            "google.cloud.pubsub_v1.SubscriberClient.subscribe",
        ),
        (
            "google.cloud.logging.Client().setup_logging",
            "google.cloud.logging.handlers.CloudLoggingHandler",
        ),
        (
            "google.cloud.logging_v2.handlers.CloudLoggingHandler",
            "google.cloud.logging.handlers.CloudLoggingHandler",
        ),
        # Datadog, New Relic, Elastic
        ("ddtrace.patch_all", "ddtrace.patch_all"),
        ("ddtrace.tracer.trace", "ddtrace.patch_all"),
        ("ddtrace.trace.tracer.start_span", "ddtrace.patch_all"),
        ("datadog.ThreadStats().start", "datadog.threadstats.ThreadStats.start"),
        (
            "datadog.statsd.enable_background_sender",
            "datadog.dogstatsd.DogStatsd.enable_background_sender",
        ),
        (
            "datadog.dogstatsd.base.DogStatsd().enable_background_sender",
            "datadog.dogstatsd.DogStatsd.enable_background_sender",
        ),
        ("newrelic.agent.register_application", "newrelic.agent.register_application"),
        ("newrelic.agent.initialize", "newrelic.agent.initialize"),
        ("elasticapm.Client", "elasticapm.Client"),
        # loguru, psycopg_pool, Werkzeug, Flask
        ("loguru.logger.add", "loguru.logger.add"),
        ("psycopg_pool.ConnectionPool", "psycopg_pool.ConnectionPool"),
        ("psycopg_pool.ConnectionPool().open", "psycopg_pool.ConnectionPool"),
        ("psycopg_pool.NullConnectionPool", "psycopg_pool.ConnectionPool"),
        ("werkzeug.serving.run_simple", "werkzeug.serving.run_simple"),
        ("flask.Flask().run", "flask.Flask.run"),
        # Jupyter
        (
            "ipykernel.kernelapp.IPKernelApp.instance().initialize",
            "ipykernel.kernelapp.IPKernelApp.initialize",
        ),
        (
            "jupyter_client.BlockingKernelClient().start_channels",
            "jupyter_client.KernelClient.start_channels",
        ),
        (
            "jupyter_client.KernelManager().client().start_channels",
            "jupyter_client.KernelClient.start_channels",
        ),
        # MongoDB, ZeroMQ, joblib, others
        ("pymongo.MongoClient", "pymongo.MongoClient"),
        ("mongoengine.connect", "pymongo.MongoClient"),
        ("zmq.Context().socket", "zmq.Context.socket"),
        ("zmq.Context.instance().socket", "zmq.Context.socket"),
        ("zmq.asyncio.Context().socket", "zmq.Context.socket"),
        ("joblib.Parallel()", "joblib.Parallel.__call__"),
        ("cassandra.cluster.Cluster", "cassandra.cluster.Cluster"),
        ("cassandra.cluster.Cluster().connect", "cassandra.cluster.Cluster"),
        ("kazoo.client.KazooClient().start", "kazoo.client.KazooClient.start"),
        ("posthog.Posthog", "posthog.Posthog"),
        ("posthog.capture", "posthog.Posthog"),
        (
            "anyio.from_thread.start_blocking_portal",
            "anyio.from_thread.start_blocking_portal",
        ),
    ],
)
def test_path_matches(path: str, name: str) -> None:
    assert _matching(path) == [name]


@pytest.mark.parametrize(
    "path",
    [
        # near misses next to real entries
        "redis.Redis().pubsub().get_message",
        "redis.Redis().pubsub().listen",
        "redis.Redis().pubsub",
        "redis.asyncio.Redis().pubsub().run",
        "tqdm.tqdm().update",
        "tqdm.tqdm().close",
        "tqdm.tqdm.write",
        "PyQt5.QtCore.QThread",
        "PyQt5.QtCore.QThread().wait",
        "PyQt5.QtCore.QThread().quit",
        "PyQt5.QtCore.QTimer().start",
        "PySide6.QtCore.QProcess().start",
        "grpc.insecure_channel().close",
        "grpc.server().stop",
        "grpc.aio.server().start",
        "sentry_sdk.capture_exception",
        "opentelemetry.sdk.trace.export.SimpleSpanProcessor",
        "watchdog.observers.Observer",
        "watchdog.observers.Observer().schedule",
        "watchdog.observers.Observer().stop",
        "paho.mqtt.client.Client",
        "paho.mqtt.client.Client().loop_forever",
        "paho.mqtt.client.Client().loop_stop",
        "apscheduler.schedulers.background.BackgroundScheduler",
        "apscheduler.schedulers.background.BackgroundScheduler().shutdown",
        "apscheduler.schedulers.asyncio.AsyncIOScheduler().start",
        "apscheduler.Scheduler().stop",
        "kafka.KafkaProducer().send",
        "confluent_kafka.Producer().produce",
        "confluent_kafka.Consumer().consume",
        "boto3.client",
        "boto3.client().get_object().copy",
        "boto3.client().copy_object",
        "boto3.client().put_object",
        "boto3.resource().Object().copy_from",
        "s3transfer.manager.TransferManager().shutdown",
        "dask.delayed",
        "dask.array.from_array",
        "distributed.Client().close",
        "google.cloud.pubsub_v1.PublisherClient",
        "google.cloud.logging.Client().logger",
        "loguru.logger.info",
        "loguru.logger.remove",
        "psycopg_pool.AsyncConnectionPool",
        "psycopg_pool.ConnectionPool().getconn",
        "flask.Flask",
        "flask.Flask().route",
        "pymongo.AsyncMongoClient",
        "motor.motor_asyncio.AsyncIOMotorClient",
        "zmq.Context",
        "zmq.Context().term",
        "joblib.Parallel",
        "joblib.delayed",
        "datadog.initialize",
        "datadog.DogStatsd",
        # libraries checked and found not to start threads
        "requests.get",
        "requests.Session().get",
        "urllib3.PoolManager",
        "sqlalchemy.create_engine",
        "structlog.get_logger",
        "schedule.every().do",
        "pika.BlockingConnection",
        "uvicorn.run",
        # the core owns the standard library
        "threading.Thread().start",
    ],
)
def test_near_miss_does_not_match(path: str) -> None:
    assert _matching(path) == []
