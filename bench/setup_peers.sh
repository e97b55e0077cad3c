#!/usr/bin/env bash
# Installs the benchmark's comparison implementations into bench/.peers (gitignored); never a
# project dependency. `higher` installs with plain pip. learn2learn 0.2.0 from PyPI does not build
# on Python 3.11 (its generated C includes longintrepr.h) and its package __init__ imports
# torchvision and gym; its MAML itself is pure Python, so we take the three unmodified source files
# it needs (algorithms/maml.py, algorithms/base_learner.py, utils/__init__.py) from the sdist.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../.venv/bin/python}
rm -rf .peers && mkdir -p .peers
"$PY" -m pip install -q --target .peers --no-deps higher==0.2.1
tmp=$(mktemp -d)
"$PY" -m pip download -q --no-deps --no-binary :all: -d "$tmp" learn2learn==0.2.0
tar xzf "$tmp"/learn2learn-0.2.0.tar.gz -C "$tmp"
src="$tmp/learn2learn-0.2.0/learn2learn"
mkdir -p .peers/learn2learn/algorithms .peers/learn2learn/utils
cp "$src/algorithms/maml.py" "$src/algorithms/base_learner.py" .peers/learn2learn/algorithms/
cp "$src/utils/__init__.py" .peers/learn2learn/utils/
echo '"""learn2learn 0.2.0: only the MAML sources (see bench/setup_peers.sh)."""' > .peers/learn2learn/__init__.py
echo 'from .maml import MAML' > .peers/learn2learn/algorithms/__init__.py
rm -rf "$tmp"
echo "peers installed in bench/.peers"
