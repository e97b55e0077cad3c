#!/usr/bin/env bash
# Rebuilds leo_app/vendor/plotly-2d.min.js: plotly.js's core (scatter) with the bar, heatmap and contour traces,
# the 2-D trace types the app draws, bundled and minified by esbuild the way plotly.js builds its own bundles
# (an IIFE named Plotly, `global` as `window`). Needs node, npm and the npm registry; run by hand after an
# upgrade of the `plotly` Python package, with that package's plotly.js version (see README.md).
#
#     bash leo_app/vendor/build_plotly_2d.sh [PLOTLY_JS_VERSION]
set -euo pipefail
version=${1:-4.1.1}
esbuild_version=0.28.2
out=$(cd "$(dirname "$0")" && pwd)/plotly-2d.min.js
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "plotly.js@$version" "esbuild@$esbuild_version" >/dev/null
cat >entry.js <<'JS'
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/heatmap'), require('plotly.js/lib/contour')]);
module.exports = Plotly;
JS
banner="/**
* plotly.js (2d - minified) v$version: core (scatter), bar, heatmap, contour; built by leo_app/vendor/build_plotly_2d.sh
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/"
npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --target=es2018 --define:global=window \
    --legal-comments=eof --banner:js="$banner" --outfile="$out" --log-level=warning
# plotly.js's trace registry requires maplibre's stylesheet for map traces (not in this bundle); esbuild writes it
# beside the output. Nothing here uses it.
rm -f "${out%.js}.css"
echo "wrote $out ($(wc -c <"$out") bytes)"
