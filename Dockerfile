# geoapp served against an external PostGIS (see docker-compose.yml).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk poppler-utils gdal-bin nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY geoapp ./geoapp
RUN pip install --no-cache-dir .
COPY layers ./layers
COPY static ./static
RUN cd static && npm ci --no-audit --no-fund --loglevel=error

ENV GEOAPP_LAYERS_DIR=/app/layers GEOAPP_STATIC_DIR=/app/static
EXPOSE 8000
CMD ["geoapp", "serve", "--host", "0.0.0.0", "--port", "8000"]
