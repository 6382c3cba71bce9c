#!/usr/bin/env bash
# Copies the front-end packages installed from the npm registry (package-lock.json) into static/vendor/,
# where Shixun serves them itself: pages never load anything from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
mkdir -p "$out/swagger-ui"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
for f in swagger-ui-bundle.js swagger-ui.css; do
  cp "node_modules/swagger-ui-dist/$f" "$out/swagger-ui/$f"
done
cp node_modules/sortablejs/Sortable.min.js "$out/Sortable.min.js"
# hls.js plays HLS through Media Source Extensions; its transmuxer runs in a worker loaded from a file
# (workerPath), since the CSP forbids the blob: worker hls.js would otherwise create.
cp node_modules/hls.js/dist/hls.min.js "$out/hls.min.js"
cp node_modules/hls.js/dist/hls.worker.js "$out/hls.worker.js"
