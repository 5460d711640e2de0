# One image for the project's Python services: the trader, the Alertmanager render step, the
# SMS relay, the stack-init step, the stack doctor, the tuning CLI and the reports service.
# Installed exactly as the README says: `pip install .`.
#
# Build stage: install the project into a virtual environment; the runtime stage copies only
# that environment: no source tree, no pip cache, no build leftovers.
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY trader ./trader
COPY exporters ./exporters
COPY alertmanager ./alertmanager
COPY stacklog ./stacklog
COPY tuning ./tuning
COPY doctor ./doctor
COPY reports ./reports
COPY chat ./chat
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install .

FROM python:3.11.13-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
COPY deploy/container/stack_init.py /opt/stack/stack_init.py

# A fixed, non-root uid: a new named volume takes the owner of the directory it is mounted on,
# so these directories decide who may write the volumes. Group 0 can read Grafana's password
# file (Grafana runs as 472:0); /config belongs to nobody, Alertmanager's user, who runs the
# render step and reads its 0600 output. /data/state holds the trader's journal (the trader-data
# volume, read-only in reports; `--state-dir` defaults to ./state under the working directory
# /data); /data/reports is the reports service's own state (volume reports-data).
RUN useradd --uid 10001 --gid 0 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin stack \
 && mkdir -p /run/secrets/grafana /config /data/state /data/reports \
 && chown 10001:0 /run/secrets/grafana /data /data/state /data/reports \
 && chmod 0750 /run/secrets/grafana \
 && chown 65534:0 /config && chmod 0750 /config
USER 10001:0
WORKDIR /data
EXPOSE 8000 9099
CMD ["python", "-m", "trader", "--metrics-port", "8000"]
