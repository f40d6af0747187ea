#!/usr/bin/env bash
# distcheck machine setup: everything the harness needs from the OS, as root on Debian.
# Idempotent: every step checks before it acts, so running it twice changes nothing.
set -euo pipefail

log() { printf '[setup-machine] %s\n' "$*"; }
die() { printf '[setup-machine] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo npm run setup-machine)"
command -v apt-get >/dev/null || die "needs a Debian-based machine with apt-get"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -e /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The reference host's unit tests run with Debian's python3 and packaging, like the images.
/usr/bin/python3 -c "import packaging" 2>/dev/null || need+=(python3-packaging)
# plugin.yaml (DIR) is parsed with PyYAML, in the images and in the host's unit tests.
/usr/bin/python3 -c "import yaml" 2>/dev/null || need+=(python3-yaml)
# Debian's chromium opens the published report in the browser test (driven by playwright-core).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
else
  log "packages present"
fi

# A Docker engine. The Debian docker.io daemon; the client may be any newer one on PATH.
docker_ok() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if docker_ok; then
  log "docker engine answers ($(docker version --format '{{.Server.Version}}'))"
else
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd --storage-driver=overlay2 >/var/log/distcheck-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do docker_ok && break; sleep 0.5; done
  docker_ok || die "dockerd did not answer within 60 s; see /var/log/distcheck-dockerd.log"
  log "docker engine answers ($(docker version --format '{{.Server.Version}}'))"
fi

# qemu binfmt for linux-aarch64 containers; an aarch64 machine runs them natively (and Debian's
# qemu-user-static registers no handler for the machine's own architecture).
if [ "$(uname -m)" = aarch64 ]; then
  log "native aarch64 machine: linux-aarch64 containers need no qemu"
  log "done"
  exit 0
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  log "mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  log "enabling qemu-aarch64"
  update-binfmts --enable qemu-aarch64 || true
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || die "qemu-aarch64 binfmt is not enabled; run: update-binfmts --enable qemu-aarch64"
grep -q 'flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || log "warning: qemu-aarch64 binfmt lacks the F (fix-binary) flag; containers need the interpreter inside them"
log "qemu-aarch64 binfmt enabled"
log "done"
