#!/usr/bin/env bash
# Install the system packages geoapp needs on Debian 12 / Ubuntu 22.04+, only those that are missing.
# Uses sudo when not root. Safe to run again: with everything present it installs nothing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The PostgreSQL major version: the newest server already installed, else the distribution's default.
PGV=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "${PGV}" ]; then
  PGV=$(apt-cache policy postgresql 2>/dev/null | sed -n 's/.*Candidate: \([0-9]*\)+.*/\1/p' | head -n 1)
  PGV=${PGV:-15}
fi

want=(
  "postgresql-${PGV}" "postgresql-${PGV}-postgis-3" "postgresql-${PGV}-pgrouting"  # database
  gdal-bin               # ogrinfo/ogr2ogr: a real OGC API client in the tests
  poppler-utils          # pdftotext/pdftoppm/pdffonts: checking printed maps
  fonts-noto-cjk         # Chinese text in the browser and in PDFs
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0  # WeasyPrint (printed route maps)
  chromium               # headless browser tests
)
command -v node >/dev/null 2>&1 || want+=(nodejs)
command -v npm >/dev/null 2>&1 || want+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || want+=(python3-venv)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
