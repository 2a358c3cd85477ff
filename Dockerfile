# episode-bot in a container: `docker compose up` (see compose.yaml and the README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The database lives on the volume; the web server listens on every interface of
    # the container (publish the port to 127.0.0.1 and put a TLS proxy in front).
    EPISODE_BOT_DB=/data/episode-bot.db \
    EPISODE_BOT_WEB_HOST=0.0.0.0 \
    EPISODE_BOT_WEB_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY jobs ./jobs
COPY adapters ./adapters
COPY web ./web
COPY sources_http ./sources_http
COPY episode_bot ./episode_bot
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home episode-bot \
    && mkdir -p /data && chown episode-bot:episode-bot /data

USER episode-bot
# .env is read from the working directory: mount one here, or pass settings with -e/env_file.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["python", "-m", "web.healthcheck"]
CMD ["episode-bot", "run"]
