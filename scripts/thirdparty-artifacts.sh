#!/usr/bin/env bash
# Builds the real third-party artifacts distcheck certifies, offline and reproducibly:
#   - the Toposync extension wheels (toposync-extensions/{structural,images}) with Debian trixie's
#     hatchling, inside distcheck's base-trixie-toposync image (bookworm's hatchling is too old);
#   - the Zelos extension archives (zelos-extensions/zelos-extension-{http,mqtt}) with each
#     project's own scripts/package_extension.py.
# Usage: scripts/thirdparty-artifacts.sh OUT_DIR
# Prints one line per artifact on stdout: "<sha256>  <size in bytes>  <file name>"; logs go to stderr.
# Environment:
#   DISTCHECK_THIRDPARTY   the third-party folder (default: ../shared/thirdparty from the project root)
#   DISTCHECK_TOPOSYNC_IMAGE   the image to build wheels in (default: the matrix's current
#                          distcheck/base-trixie-toposync image for the native platform)
#   SOURCE_DATE_EPOCH      timestamp of every file in the artifacts (default: 1580601600, hatchling's own)
# The third-party trees are read in place (mounted read-only, copied to a temp dir to build); nothing
# is copied into the project.
set -euo pipefail

log() { printf '[thirdparty-artifacts] %s\n' "$*" >&2; }
die() { printf '[thirdparty-artifacts] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: scripts/thirdparty-artifacts.sh OUT_DIR"
out_arg=$1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${DISTCHECK_THIRDPARTY:-}" ]; then
  tp_tried=$DISTCHECK_THIRDPARTY
  tp_how="from DISTCHECK_THIRDPARTY"
else
  tp_tried=$root/../shared/thirdparty
  tp_how="the default, ../shared/thirdparty from the project root; set DISTCHECK_THIRDPARTY to override it"
fi
[ -d "$tp_tried" ] || die "third-party folder not found: $tp_tried ($tp_how)"
tp=$(cd "$tp_tried" && pwd -P)

toposync_exts=(structural images)
zelos_exts=(zelos-extension-http zelos-extension-mqtt)
for e in "${toposync_exts[@]}"; do
  [ -f "$tp/toposync-extensions/$e/pyproject.toml" ] || die "missing $tp/toposync-extensions/$e/pyproject.toml (third-party folder: $tp, $tp_how)"
done
for e in "${zelos_exts[@]}"; do
  [ -f "$tp/zelos-extensions/$e/scripts/package_extension.py" ] || die "missing $tp/zelos-extensions/$e/scripts/package_extension.py (third-party folder: $tp, $tp_how)"
done

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1580601600}
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number of seconds (got '$SOURCE_DATE_EPOCH')"

case "$(uname -m)" in
  x86_64 | amd64) platform=linux-x86_64 docker_platform=linux/amd64 ;;
  aarch64 | arm64) platform=linux-aarch64 docker_platform=linux/arm64 ;;
  *) die "unsupported machine architecture $(uname -m) (distcheck knows linux-x86_64 and linux-aarch64)" ;;
esac

command -v docker >/dev/null || die "docker is not installed (run: sudo npm run setup-machine)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the Docker engine does not answer (run: sudo npm run setup-machine)"

build_cmd="node bin/distcheck.js images build --host toposync --python trixie --platform $platform --base-only"

# The image: the base-trixie-toposync image the current matrix wants for this platform (its tag
# carries the recipe's content hash, `distcheck/base-trixie-toposync:<platform>-<hash>`); else the
# newest image labelled as that base (stale hash: warn); else say how to build it.
find_image() {
  local prefix="distcheck/base-trixie-toposync:$platform-" listing="" tag="" why
  if listing=$(cd "$root" && node bin/distcheck.js images list --host toposync --python trixie --platform "$platform" --json 2>/dev/null); then
    tag=$(printf '%s' "$listing" | python3 -c '
import json, sys
for image in json.load(sys.stdin):
    if image.get("kind") == "base" and image.get("wanted") and image.get("tag", "").startswith(sys.argv[1]):
        print(image["tag"]); break
' "$prefix" 2>/dev/null) || tag=""
    why="the current matrix's base-trixie-toposync image is not built"
  else
    why="could not ask distcheck which base-trixie-toposync image the matrix wants (node bin/distcheck.js images list failed)"
  fi
  if [ -n "$tag" ]; then
    printf '%s\n' "$tag"
    return
  fi
  # Base images are built with a fixed creation time, so "newest" cannot be told by date: take the
  # first one carrying the base's labels.
  tag=$(docker images --filter label=dev.distcheck.image=base --filter label=dev.distcheck.recipe=trixie-toposync \
    --filter "label=dev.distcheck.platform=$platform" --format '{{.Repository}}:{{.Tag}}' | grep -F "$prefix" | head -n 1 || true)
  if [ -n "$tag" ]; then
    log "warning: $why; using $tag, labelled as that base. To build the current one: $build_cmd"
    printf '%s\n' "$tag"
  fi
}

if [ -n "${DISTCHECK_TOPOSYNC_IMAGE:-}" ]; then
  image=$DISTCHECK_TOPOSYNC_IMAGE
  docker image inspect "$image" >/dev/null 2>&1 || die "DISTCHECK_TOPOSYNC_IMAGE=$image is not in the Docker engine"
else
  image=$(find_image)
  [ -n "$image" ] || die "no distcheck/base-trixie-toposync image for $platform in the Docker engine (Debian trixie with python3-hatchling). Build it with: $build_cmd"
fi

started=$(date +%s)
mkdir -p "$out_arg"
out=$(cd "$out_arg" && pwd -P)
work=$(mktemp -d "${TMPDIR:-/tmp}/thirdparty-artifacts.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wheels" "$work/zelos"

# 1. Toposync wheels, in the container, offline (--network none, --no-index). The build writes into
# its tree, so each read-only source is copied to the container's /tmp first.
log "building the Toposync wheels in $image ($docker_platform, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
mounts=()
for e in "${toposync_exts[@]}"; do mounts+=(-v "$tp/toposync-extensions/$e:/src/$e:ro"); done
docker run --rm --network none --platform "$docker_platform" --user "$(id -u):$(id -g)" \
  -e HOME=/tmp -e SOURCE_DATE_EPOCH -e PIP_NO_INPUT=1 -e PIP_ROOT_USER_ACTION=ignore -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PYTHONDONTWRITEBYTECODE=1 \
  "${mounts[@]}" -v "$work/wheels:/out" "$image" \
  sh -euc '
    printf "[thirdparty-artifacts] %s, hatchling %s\n" "$(python3 --version)" "$(python3 -c "from importlib.metadata import version; print(version(\"hatchling\"))")" >&2
    for e in "$@"; do
      rm -rf "/tmp/build/$e"; mkdir -p /tmp/build; cp -r "/src/$e" "/tmp/build/$e"; chmod -R u+w "/tmp/build/$e"
      python3 -m pip wheel --no-deps --no-build-isolation --no-index --no-cache-dir --wheel-dir /out "/tmp/build/$e" >&2
    done' sh "${toposync_exts[@]}"

# 2. Zelos archives, with each project's own scripts/package_extension.py, run in a temp copy named
# like the project (the archive is named after the working directory: <dir>-v<version>.tar.gz).
# The script needs Python >= 3.10 (PEP 604 annotations evaluated at import) and tomllib (3.11) or
# tomli, nothing else and no network. It runs through a shim that changes no file choice, only
# metadata: the gzip header time and every member's mtime become SOURCE_DATE_EPOCH, owners root:root,
# so the archive does not depend on when or by whom it was built. The copy gets a checkout's modes
# (0644 files, 0755 directories; the shared tree is read-only).
shim='
import gzip, os, runpy, sys, tarfile
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
_gzip_init = gzip.GzipFile.__init__
def gzip_init(self, *args, **kwargs):
    if len(args) < 5:
        kwargs.setdefault("mtime", epoch)
    _gzip_init(self, *args, **kwargs)
gzip.GzipFile.__init__ = gzip_init
_add = tarfile.TarFile.add
def add(self, name, arcname=None, recursive=True, *, filter=None):
    if getattr(filter, "_normalizes", False):
        return _add(self, name, arcname, recursive, filter=filter)
    def normalize(info):
        if filter is not None:
            info = filter(info)
            if info is None:
                return None
        info.mtime = epoch
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info
    normalize._normalizes = True
    return _add(self, name, arcname, recursive, filter=normalize)
tarfile.TarFile.add = add
sys.argv = ["scripts/package_extension.py"]
runpy.run_path("scripts/package_extension.py", run_name="__main__")
'
py_ok='import sys; assert sys.version_info >= (3, 10)
try:
    import tomllib
except ModuleNotFoundError:
    import tomli'
for e in "${zelos_exts[@]}"; do
  cp -r "$tp/zelos-extensions/$e" "$work/zelos/$e"
  chmod -R u+w,go-w,go+rX "$work/zelos/$e"
  find "$work/zelos/$e" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
done
if python3 -c "$py_ok" 2>/dev/null; then
  log "packaging the Zelos archives on this machine ($(command -v python3), $(python3 --version 2>&1))"
  for e in "${zelos_exts[@]}"; do
    (cd "$work/zelos/$e" && PYTHONDONTWRITEBYTECODE=1 python3 -c "$shim" >&2)
  done
else
  log "this machine's python3 cannot run package_extension.py (needs >= 3.10 with tomllib or tomli); packaging in $image"
  docker run --rm --network none --platform "$docker_platform" --user "$(id -u):$(id -g)" \
    -e HOME=/tmp -e SOURCE_DATE_EPOCH -e PYTHONDONTWRITEBYTECODE=1 -e SHIM="$shim" -v "$work/zelos:/zelos" "$image" \
    sh -euc 'for e in "$@"; do (cd "/zelos/$e" && python3 -c "$SHIM" >&2); done' sh "${zelos_exts[@]}"
fi

# 3. Move the artifacts to OUT_DIR and list them.
artifacts=()
for f in "$work"/wheels/*.whl; do
  [ -e "$f" ] || die "the wheel build produced no .whl"
  artifacts+=("$f")
done
for e in "${zelos_exts[@]}"; do
  found=0
  for f in "$work/zelos/$e"/*.tar.gz; do
    [ -e "$f" ] || continue
    artifacts+=("$f")
    found=1
  done
  [ $found -eq 1 ] || die "$e/scripts/package_extension.py produced no .tar.gz"
done
for f in "${artifacts[@]}"; do
  name=$(basename "$f")
  mv -f "$f" "$out/$name"
  printf '%s  %s  %s\n' "$(sha256sum "$out/$name" | cut -d' ' -f1)" "$(stat -c %s "$out/$name")" "$name"
done
log "${#artifacts[@]} artifacts in $out ($(($(date +%s) - started)) s)"
