# syntax=docker/dockerfile:1
#
# One image for every Frontdesk service. The default command runs the gateway;
# pick another service by overriding the command, e.g.
#   docker run frontdesk python -m services.orchestrator --host 0.0.0.0 --port 8001

ARG PYTHON_VERSION=3.11

# ---- build: install the project and its dependencies into a virtualenv ----
FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv "$VIRTUAL_ENV" \
 && pip install --upgrade pip setuptools wheel

WORKDIR /src
# pyproject.toml (project `frontdesk`) packages services* and shared*; README.md is
# its `readme`, so it must be in the build context too (see .dockerignore).
COPY . .
RUN pip install .

# ---- runtime: slim image, non-root, no build tooling or source tree ----
FROM python:${PYTHON_VERSION}-slim AS runtime

ARG APP_UID=10001
ARG APP_GID=10001

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    LOG_FORMAT=json

RUN groupadd --system --gid "$APP_GID" frontdesk \
 && useradd --system --uid "$APP_UID" --gid frontdesk --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin frontdesk \
 && mkdir -p /app \
 && chown frontdesk:frontdesk /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Numeric UID so Kubernetes `runAsNonRoot: true` can verify it without /etc/passwd.
USER ${APP_UID}:${APP_GID}

# gateway, orchestrator, retriever, escalation (HTTP: /healthz /readyz /metrics)
EXPOSE 8000 8001 8002 8003

CMD ["python", "-m", "services.gateway", "--host", "0.0.0.0", "--port", "8000"]
