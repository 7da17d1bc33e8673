#!/bin/sh
# Installs what `npm start` and `npm test` need on a fresh machine, and nothing when it is all there:
#   - npm packages (npm ci) when node_modules is missing or older than package-lock.json;
#   - PostgreSQL 15 + PostGIS 3 from Debian when the embedded database is used (no DATABASE_URL);
#   - GDAL (ogr2ogr), which writes the exports (server/exports), for `npm start` as for `npm test`;
#   - Chromium and CJK fonts, which print the thematic maps (server/releases/print.ts), for both too;
#   - for `npm test` (argument "test"): PROJ (cs2cs) and poppler (pdftotext, pdfinfo, pdftoppm), the
#     independent references the tests check against (GDAL's ogrinfo is one of them too);
#   - for the benchmarks (argument "bench"): wrk, the HTTP load generator.
# As root with apt-get it installs them; otherwise it prints the one line to run and stops.
set -e
cd "$(dirname "$0")/../.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

need=""
if [ -z "${DATABASE_URL:-}" ]; then
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$need postgresql-15"
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need="$need postgresql-15-postgis-3"
fi
command -v ogr2ogr >/dev/null 2>&1 || need="$need gdal-bin"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -d /usr/share/fonts/opentype/noto ] || need="$need fonts-noto-cjk"
if [ "${1:-}" = "test" ]; then
  command -v cs2cs >/dev/null 2>&1 || need="$need proj-bin"
  # the printed maps read back (server/releases/print.ts)
  command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
  # the independent geodesic reference for conflict areas (GeographicLib through pyproj)
  /usr/bin/python3 -c 'import pyproj' >/dev/null 2>&1 || need="$need python3-pyproj"
  # the test suite always runs against a fresh database of its own, on the embedded cluster unless DATABASE_URL is set
  if [ -z "${DATABASE_URL:-}" ]; then
    ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || case "$need" in *postgis*) ;; *) need="$need postgresql-15-postgis-3";; esac
  fi
fi

if [ "${1:-}" = "bench" ]; then
  command -v wrk >/dev/null 2>&1 || need="$need wrk"
fi

if [ -n "$need" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian packages:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  else
    echo "bootstrap: missing system packages. Install them with: sudo apt-get install -y$need" >&2
    exit 1
  fi
fi
