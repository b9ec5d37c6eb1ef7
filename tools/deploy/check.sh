#!/usr/bin/env bash
# check.sh -- validates the deployment files without a Docker engine or a cluster:
#   docker/compose.yaml   docker-compose config (Debian's docker-compose 1.29)
#   docker/**/*.yaml      yamllint with docker/.yamllint
#   docker/k8s/*.yaml     every object against the Kubernetes API schemas (validate-k8s.mjs,
#                         kubernetes-models from npm, installed by tools/setup.sh)
#   docker/Dockerfile     the files it copies exist
# Exit status 0 when all pass. Missing tools are failures, not skips.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
status=0
step() { printf '==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "check.sh: $1 not found (tools/setup.sh installs it)" >&2; exit 1; }; }
need docker-compose
need yamllint
need node

step "docker-compose config: docker/compose.yaml"
docker-compose -f docker/compose.yaml config -q || status=1
services=$(docker-compose -f docker/compose.yaml config --services | sort | tr '\n' ' ')
[[ $services == "rrdnsd verify web " ]] || { echo "services are '$services'"; status=1; }
# The replica set: web scaled to 3 (deploy.replicas, which docker-compose 1.29 honours too).
docker-compose -f docker/compose.yaml config | sed -n '/^  web:/,/^  [a-z]/p' | grep -q 'replicas: 3' ||
  { echo "service web is not scaled to 3"; status=1; }

step "yamllint: docker/"
yamllint -s -c docker/.yamllint docker/ || status=1

step "Kubernetes schemas: docker/k8s/"
[[ -d tools/deploy/node_modules/kubernetes-models ]] ||
  { echo "tools/deploy/node_modules is missing: run tools/setup.sh test (npm ci there)" >&2; exit 1; }
(cd tools/deploy && node validate-k8s.mjs ../../docker/k8s/*.yaml) || status=1

step "Dockerfile: every COPY source exists"
while read -r src; do
  [[ -e $src ]] || { echo "docker/Dockerfile copies $src, which does not exist"; status=1; }
done < <(awk '$1 == "COPY" && $2 !~ /^--/ { for (i = 2; i < NF; i++) print $i }' docker/Dockerfile)

[[ $status -eq 0 ]] && step "all deployment files are valid"
exit $status
