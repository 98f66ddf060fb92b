"""What fixes need from the settings: a leaf module, so that the configuration
(which parses `[tool.fork-lint.fix]`) does not import the fixers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FixOptions", "LaunchOptions"]


@dataclass(frozen=True)
class LaunchOptions:
    """`[tool.fork-lint.fix.launch]`: how a forked supervisor launch becomes a fresh interpreter.

    The defaults are Airflow's: the edge worker's `_run_job_via_supervisor`
    becomes ``python -m airflow.sdk.execution_time.execute_workload --json-string
    <workload JSON>``, the command Airflow's ECS, Batch and Lambda executors build.
    """

    entry_module: str = "airflow.sdk.execution_time.execute_workload"
    json_option: str = "--json-string"
    serialize_expression: str = "{workload}.model_dump_json()"
    target_methods: tuple[str, ...] = ("_run_job_via_supervisor",)
    workload_parameter: str = "workload"
    popen_arguments: tuple[str, ...] = ("start_new_session=True",)


@dataclass(frozen=True)
class FixOptions:
    """What fixes need from the settings."""

    target_version: tuple[int, int] = (3, 7)
    start_method: str = "forkserver"
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    line_length: int = 88  # where a fix wraps what it lengthens (`formatting`)
