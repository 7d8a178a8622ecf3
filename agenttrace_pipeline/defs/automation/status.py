"""Whether the project's schedules and sensors start RUNNING or STOPPED in a fresh instance (one switch,
``AGENTTRACE_AUTOMATION``, read by :func:`agenttrace_pipeline.settings.automation_running`). A status set in
the UI or with ``dagster schedule start`` / ``dagster sensor start`` overrides it and is kept in DAGSTER_HOME."""

import dagster as dg

from agenttrace_pipeline import settings


def schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if settings.automation_running() else dg.DefaultScheduleStatus.STOPPED


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if settings.automation_running() else dg.DefaultSensorStatus.STOPPED
