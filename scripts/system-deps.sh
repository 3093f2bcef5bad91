#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real (sshd, PostgreSQL, git,
# Prometheus and Alertmanager),
# only when they are missing. Needs root (or sudo) the first time; a no-op afterwards.
set -euo pipefail

# `system-deps.sh demo` needs only git; the test suite needs the servers too.
need=()
command -v git >/dev/null 2>&1 || need+=(git)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
if [ "${1:-test}" = "demo" ]; then
    :
else
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
fi
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# the monitoring runbooks' tests run real Prometheus (with promtool) and Alertmanager
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# the documentation site: a headless browser checks its diagrams render (tests/site/),
# from a Mermaid build fetched from the npm registry (scripts/fetch-mermaid.sh)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
# `opsbooks completion zsh|fish` is tested in the real shells (tests/cli/)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "system-deps: missing ${need[*]} and not root (no sudo); install them and rerun." >&2
        exit 2
    fi
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's postgresql package starts a cluster service; the tests start their own.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    $sudo pg_ctlcluster --force 15 main stop >/dev/null 2>&1 || true
fi
# and the prometheus packages start their services where systemd runs; the tests start
# their own on free loopback ports
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $sudo systemctl stop prometheus prometheus-alertmanager prometheus-node-exporter \
        >/dev/null 2>&1 || true
fi
