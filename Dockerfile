# Production image: non-root (uid 10001), runs with a read-only root filesystem
# (`docker run --read-only --tmpfs /tmp`, or read_only: true in docker-compose.yml):
# nothing under /app or /usr is writable by the service, so a compromised worker
# cannot change the code it runs. Migrates then serves. Use PostgreSQL via
# POSYANDU_DATABASE_URL; /app/var is the one writable place (a volume), for SQLite only.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    POSYANDU_LOG_JSON=true

RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 posyandu

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY cli ./cli
COPY clients ./clients
COPY core ./core
COPY indicators ./indicators
COPY migrations ./migrations
COPY models ./models
COPY simulator ./simulator
COPY sync ./sync
RUN pip install . && mkdir -p /app/var && chown posyandu /app/var \
    && find /app -path /app/var -prune -o -exec chmod a-w {} +

VOLUME ["/app/var"]
# numeric, so that Kubernetes' runAsNonRoot can check it
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/readyz || exit 1

CMD ["sh", "-c", "posyandu-sync migrate && posyandu-sync bootstrap && exec posyandu-sync serve --host 0.0.0.0 --port 8000 --workers ${POSYANDU_WORKERS:-2}"]
