#!/usr/bin/env bash
# Runs the reference host's Python unit tests with a python3 that has `packaging`
# (Debian's /usr/bin/python3 with python3-packaging after setup-machine, else python3 on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
if /usr/bin/python3 -c 'import packaging' 2>/dev/null; then py=/usr/bin/python3; fi
"$py" -c "import packaging, yaml" 2>/dev/null || { echo "test-host: $py cannot import packaging and yaml; run: sudo npm run setup-machine (installs python3-packaging, python3-yaml)" >&2; exit 2; }
echo "test-host: $("$py" --version) at $py"
PYTHONPATH=hosts/reference/src exec "$py" -m unittest discover -s hosts/reference/tests -t hosts/reference "$@"
