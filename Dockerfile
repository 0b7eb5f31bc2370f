# Nexus Gateway. Untested here: this machine has a Docker client but no engine (see README).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY nexus ./nexus
RUN pip install -e . && useradd --create-home --uid 10001 nexus && mkdir -p /data && chown nexus /data
USER nexus
# With DATABASE_URL unset the embedded PostgreSQL keeps its data in the volume.
ENV NEXUS_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
ENTRYPOINT ["nexus"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
