"""The demo's LocalAirflow for the browser tests: one import, wherever the sandbox package lives."""

try:
    from workmagic_sandbox.local_airflow import LocalAirflow, LocalAirflowError
except ModuleNotFoundError:
    from workmagic_provider.sandbox.local_airflow import LocalAirflow, LocalAirflowError

__all__ = ["LocalAirflow", "LocalAirflowError"]
