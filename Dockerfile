# Production image: non-root, migrates then serves. Use PostgreSQL via POSYANDU_DATABASE_URL.
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
RUN pip install . && mkdir -p /app/var && chown posyandu /app/var

USER posyandu
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/readyz || exit 1

CMD ["sh", "-c", "posyandu-sync migrate && posyandu-sync bootstrap && exec posyandu-sync serve --host 0.0.0.0 --port 8000 --workers ${POSYANDU_WORKERS:-2}"]
