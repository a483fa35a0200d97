# Airflow's official image with this provider (and the sandbox extra) installed.
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}
COPY --chown=airflow:root pyproject.toml README.md /opt/workmagic/
COPY --chown=airflow:root workmagic_provider /opt/workmagic/workmagic_provider
RUN pip install --no-cache-dir "/opt/workmagic[all,sandbox]"
