# Two images from one file (docker-compose.yaml builds both):
#   target airflow  - Airflow's official image with `airflow-provider-workmagic[all]`, nothing
#                     else: what you would run in production.
#   target sandbox  - that image plus the `workmagic-sandbox` distribution (./sandbox), the
#                     local stand-in for WorkMagic that the compose profile "sandbox" starts.
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11

FROM ${AIRFLOW_IMAGE} AS airflow
COPY --chown=airflow:root pyproject.toml README.md /opt/workmagic/
COPY --chown=airflow:root workmagic_provider /opt/workmagic/workmagic_provider
RUN pip install --no-cache-dir "/opt/workmagic[all]"

FROM airflow AS sandbox
COPY --chown=airflow:root sandbox /opt/workmagic-sandbox
RUN pip install --no-cache-dir "/opt/workmagic-sandbox"
