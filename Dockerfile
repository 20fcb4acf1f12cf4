# The tradewatch worker and its command line. docker-compose.yml builds it.
# scripts/check-image runs these steps in a Debian bookworm root on a machine without Docker.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# Build stage: PyICU (rigour -> normality -> pyicu) is on PyPI only as source, compiled here
# against Debian's ICU; every other dependency comes as a wheel. Only /wheels leaves this stage.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ pkg-config libicu-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY alerts alerts
COPY streams streams
COPY tools tools
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: no compiler, only the ICU runtime library PyICU links against.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libicu72 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels tradewatch \
 && rm -rf /wheels \
 && useradd --system --uid 10001 --home-dir /var/lib/tradewatch --create-home tradewatch \
 && mkdir -p /var/lib/tradewatch/state /var/lib/tradewatch/desk \
 && chown -R tradewatch:tradewatch /var/lib/tradewatch
# compose mounts its named volume on the state folder: a new volume takes the folder's owner,
# so the worker (uid 10001) can write its window state there.
VOLUME ["/var/lib/tradewatch/state", "/var/lib/tradewatch/desk"]

USER tradewatch
WORKDIR /var/lib/tradewatch
ENV TRADEWATCH_DATA_DIR=/var/lib/tradewatch/state \
    TRADEWATCH_METRICS_HOST=0.0.0.0 \
    TRADEWATCH_METRICS_PORT=6066
EXPOSE 6066 8470
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/healthz', timeout=2)"]
ENTRYPOINT ["tradewatch"]
CMD ["worker"]
