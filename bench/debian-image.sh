#!/usr/bin/env bash
# A real Debian image for the image scanner's test and benchmarks, built without docker:
#   1. a minimal Debian root filesystem with debootstrap (--variant=minbase), same mirror and
#      suite as this host's apt sources, cached in OUT_DIR/rootfs (reused while
#      OUT_DIR/rootfs/.done exists; delete it to rebuild);
#   2. OUT_DIR/dpkg-query.txt: Package<TAB>Version<TAB>source:Package<TAB>source:Version of every
#      installed package, sorted (the ground truth a scan is compared with);
#   3. OUT_DIR/debian.tar, a `docker save` tarball of two uncompressed layers:
#        layer 1 = the root filesystem as debootstrap left it (dev/*, proc/*, sys/* emptied),
#        layer 2 = etc/stella-layer2 only;
#      and OUT_DIR/debian-changed.tar, the same image with a different etc/stella-layer2: both
#      share layer 1 and differ in layer 2 (delta scans). Layer entries are relative
#      (etc/passwd), with numeric owners as debootstrap set them (root, apart from a few
#      package-owned groups such as shadow), sorted and reproducible: the same rootfs gives
#      the same diff_ids on every run. Both tarballs are checked with `skopeo inspect`;
#   4. with --push REF (REGISTRY/REPO:TAG): debian.tar pushed to docker://REF and
#      debian-changed.tar to docker://REF-changed, TLS verification off (plain HTTP registry).
#
#   bench/debian-image.sh OUT_DIR [--start-registry PORT] [--push REGISTRY/REPO:TAG]
#   bench/debian-image.sh /work/debian-image --start-registry 5000 --push 127.0.0.1:5000/stella/debian:bench
#   kill "$(cat /work/debian-image/registry.pid)"      # stop the registry started above
#
# --start-registry PORT starts Debian's docker-registry (package docker-registry) in the
# background on 127.0.0.1:PORT, config and storage under OUT_DIR/registry, log in
# OUT_DIR/registry/registry.log, pid in OUT_DIR/registry.pid (reused if that pid still serves
# the port). By hand, the same thing is:
#   apt-get install -y docker-registry
#   cat >/tmp/registry.yml <<EOF
#   version: 0.1
#   storage:
#     filesystem:
#       rootdirectory: /tmp/registry-storage
#   http:
#     addr: 127.0.0.1:5000
#   EOF
#   /usr/bin/docker-registry serve /tmp/registry.yml &
#   curl -s http://127.0.0.1:5000/v2/          # answers {} once it is up
#
# Environment: MIRROR, SUITE (default: from /etc/apt/sources.list(.d) and /etc/os-release),
# IMAGE_TAG (RepoTags, default stella/debian:bench). Needs root (debootstrap); missing
# debootstrap, skopeo, docker-registry and curl are installed with apt-get.
set -euo pipefail

PROG=debian-image.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }
trap 'rc=$?; echo "$PROG: error: command failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; exit $rc' ERR

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

OUT=""; PUSH=""; REG_PORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --push) [ $# -ge 2 ] || die "--push needs REGISTRY/REPO:TAG"; PUSH=$2; shift 2 ;;
    --push=*) PUSH=${1#--push=}; shift ;;
    --start-registry) [ $# -ge 2 ] || die "--start-registry needs a PORT"; REG_PORT=$2; shift 2 ;;
    --start-registry=*) REG_PORT=${1#--start-registry=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$OUT" ] || die "only one OUT_DIR, got '$OUT' and '$1'"; OUT=$1; shift ;;
  esac
done
[ -n "$OUT" ] || { usage >&2; die "OUT_DIR is missing"; }
if [ -n "$REG_PORT" ]; then
  [[ "$REG_PORT" =~ ^[0-9]+$ ]] && [ "$REG_PORT" -ge 1 ] && [ "$REG_PORT" -le 65535 ] \
    || die "--start-registry: '$REG_PORT' is not a port number"
fi
if [ -n "$PUSH" ]; then
  # The second image goes to REF-changed, so REF must end in a tag (a ':' after the last '/').
  [[ "${PUSH##*/}" == *:* ]] || die "--push: '$PUSH' has no tag; give REGISTRY/REPO:TAG"
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, apt-get)"
export LC_ALL=C

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOTFS="$OUT/rootfs"
IMAGE_TAG=${IMAGE_TAG:-stella/debian:bench}

# Timing: step NAME starts a step, done_step ends it.
STEP=""; STEP_T0=0; TOTAL_T0=$(date +%s.%N)
step() { STEP=$1; STEP_T0=$(date +%s.%N); echo "== $STEP"; }
done_step() {
  awk -v a="$STEP_T0" -v b="$(date +%s.%N)" -v s="$STEP" 'BEGIN { printf "== %s: %.1f s\n", s, b - a }'
}

need() {  # need COMMAND PACKAGE: apt-get install PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "-- $1 missing: apt-get install -y $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; } \
    || die "could not install $2"
  command -v "$1" >/dev/null 2>&1 || die "$2 installed but $1 still not found"
}

# ---------------------------------------------------------------------------------------------
step "tools"
need debootstrap debootstrap
need skopeo skopeo
need dpkg-query dpkg
need sha256sum coreutils
if [ -n "$REG_PORT" ]; then need docker-registry docker-registry; need curl curl; fi
done_step

# ---------------------------------------------------------------------------------------------
# The host's Debian mirror and release: the first deb.debian.org-style "debian" URI (not
# debian-security) of an enabled apt source, deb822 (.sources) or one-line (.list).
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i ~ /:\/\//) { print $i; break } }' "$f"
  done
}
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(host_mirror | grep -E '/debian/?$' | grep -v security | head -n1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
if [ -z "${SUITE:-}" ]; then
  SUITE=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" )
  [ -n "$SUITE" ] || die "cannot tell the host's Debian release (no VERSION_CODENAME in /etc/os-release); set SUITE"
fi
ARCH=$(dpkg --print-architecture)

step "debootstrap ($SUITE, minbase, $ARCH, $MIRROR)"
if [ -f "$ROOTFS/.done" ]; then
  echo "-- cached: $ROOTFS ($(head -n1 "$ROOTFS/.done")); delete $ROOTFS/.done to rebuild"
else
  TMPROOT="$OUT/rootfs.partial"
  umount_under() {  # debootstrap mounts proc/sys in the target; never leave them mounted
    local m
    awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  }
  umount_under "$TMPROOT"; umount_under "$ROOTFS"
  rm -rf "$TMPROOT" "$ROOTFS"
  LOG="$OUT/debootstrap.log"
  if ! debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$TMPROOT" "$MIRROR" >"$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2
    [ -f "$TMPROOT/debootstrap/debootstrap.log" ] && tail -n 30 "$TMPROOT/debootstrap/debootstrap.log" >&2
    umount_under "$TMPROOT"
    die "debootstrap failed (log: $LOG)"
  fi
  umount_under "$TMPROOT"
  if awk -v p="$TMPROOT/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    die "something is still mounted under $TMPROOT"
  fi
  mv "$TMPROOT" "$ROOTFS"
  echo "$SUITE $ARCH minbase $MIRROR $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$ROOTFS/.done"
fi
[ -s "$ROOTFS/var/lib/dpkg/status" ] || die "$ROOTFS has no var/lib/dpkg/status"
done_step

# ---------------------------------------------------------------------------------------------
step "dpkg-query.txt"
dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W \
  -f='${Package}\t${Version}\t${source:Package}\t${source:Version}\n' \
  | sort >"$OUT/dpkg-query.txt.tmp"
NPKG=$(wc -l <"$OUT/dpkg-query.txt.tmp")
[ "$NPKG" -gt 0 ] || die "dpkg-query listed no package"
mv "$OUT/dpkg-query.txt.tmp" "$OUT/dpkg-query.txt"
echo "-- $NPKG packages"
done_step

# ---------------------------------------------------------------------------------------------
step "layers"
BUILD="$OUT/build"
rm -rf "$BUILD"; mkdir -p "$BUILD"
# Reproducible tars: names in C order, GNU format (no atime/ctime, no pax pid headers).
TAR_OPTS=(--format=gnu --numeric-owner --no-recursion --null)

# Layer 1: every path of the rootfs, relative, without the cache marker and without the
# contents of dev, proc and sys (debootstrap's device nodes; docker never ships those).
( cd "$ROOTFS" && find . -mindepth 1 \
    \( -path ./.done -o -path './dev/*' -o -path './proc/*' -o -path './sys/*' \) -prune -o -print0 \
  | sed -z 's|^\./||' | sort -z ) >"$BUILD/layer1.list"
tar "${TAR_OPTS[@]}" -C "$ROOTFS" -cf "$BUILD/layer1.tar" -T "$BUILD/layer1.list"

# Layer 2: etc/ and etc/stella-layer2, root-owned, fixed mtime; CONTENT differs per image.
# The directory etc/ carries the mode and mtime it has in layer 1 (an unchanged directory).
EPOCH=$(stat -c %Y "$ROOTFS/etc")
mklayer2() {  # mklayer2 NAME CONTENT
  local d="$BUILD/$1.d"
  mkdir -p "$d/etc"
  chmod "$(stat -c %a "$ROOTFS/etc")" "$d/etc"
  printf '%s\n' "$2" >"$d/etc/stella-layer2"
  chmod 644 "$d/etc/stella-layer2"
  touch -d "@$EPOCH" "$d/etc/stella-layer2" "$d/etc"
  printf 'etc\0etc/stella-layer2\0' \
    | tar "${TAR_OPTS[@]}" --owner=0 --group=0 -C "$d" -cf "$BUILD/$1.tar" -T -
}
mklayer2 layer2 "stella bench image: layer 2, base"
mklayer2 layer2-changed "stella bench image: layer 2, changed"
sha() { sha256sum "$1" | cut -d' ' -f1; }
L1=$(sha "$BUILD/layer1.tar"); L2=$(sha "$BUILD/layer2.tar"); L2C=$(sha "$BUILD/layer2-changed.tar")
echo "-- layer 1 sha256:$L1 ($(du -h --apparent-size "$BUILD/layer1.tar" | cut -f1), $(grep -zc . "$BUILD/layer1.list") entries)"
echo "-- layer 2 sha256:$L2 / changed sha256:$L2C"
done_step

# ---------------------------------------------------------------------------------------------
# The docker save layout: manifest.json, <config sha256>.json, <diff_id hex>/layer.tar.
case "$ARCH" in
  i386) GOARCH=386; VARIANT="" ;; ppc64el) GOARCH=ppc64le; VARIANT="" ;;
  armhf) GOARCH=arm; VARIANT=v7 ;; armel) GOARCH=arm; VARIANT=v5 ;;
  arm64) GOARCH=arm64; VARIANT=v8 ;; *) GOARCH=$ARCH; VARIANT="" ;;
esac
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

pack() {  # pack OUT_TAR LAYER2_NAME LAYER2_HEX LABEL
  local out=$1 l2name=$2 l2=$3 label=$4 dir="$BUILD/$4.image" cfg cfghex variant=""
  mkdir -p "$dir/$L1" "$dir/$l2"
  ln "$BUILD/layer1.tar" "$dir/$L1/layer.tar"
  ln "$BUILD/$l2name.tar" "$dir/$l2/layer.tar"
  [ -z "$VARIANT" ] || variant=",\"variant\":\"$VARIANT\""
  cfg="{\"architecture\":\"$GOARCH\"$variant,\"os\":\"linux\",\"created\":\"$CREATED\",\"config\":{},"
  cfg+="\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$L1\",\"sha256:$l2\"]},"
  cfg+="\"history\":[{\"created\":\"$CREATED\",\"created_by\":\"$(json_str "debootstrap --variant=minbase --arch=$ARCH $SUITE / $MIRROR")\"},"
  cfg+="{\"created\":\"$CREATED\",\"created_by\":\"$(json_str "bench/debian-image.sh: etc/stella-layer2 ($label)")\"}]}"
  printf '%s' "$cfg" >"$dir/config.tmp"
  cfghex=$(sha "$dir/config.tmp")
  mv "$dir/config.tmp" "$dir/$cfghex.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar","%s/layer.tar"]}]' \
    "$cfghex" "$(json_str "$IMAGE_TAG")" "$L1" "$l2" >"$dir/manifest.json"
  touch -d "@$EPOCH" "$dir"/* "$dir"/*/*
  printf '%s\0' manifest.json "$cfghex.json" "$L1" "$L1/layer.tar" "$l2" "$l2/layer.tar" \
    | tar "${TAR_OPTS[@]}" --owner=0 --group=0 -C "$dir" -cf "$out.tmp" -T -
  mv "$out.tmp" "$out"
  echo "-- $out: config sha256:$cfghex, $(du -h --apparent-size "$out" | cut -f1)"
}
step "docker save tarballs"
pack "$OUT/debian.tar" layer2 "$L2" base
pack "$OUT/debian-changed.tar" layer2-changed "$L2C" changed
done_step

step "skopeo inspect"
for img in debian debian-changed; do
  case $img in debian) want="sha256:$L1 sha256:$L2" ;; *) want="sha256:$L1 sha256:$L2C" ;; esac
  got=$(skopeo inspect --format '{{range .Layers}}{{.}} {{end}}' "docker-archive:$OUT/$img.tar") \
    || die "skopeo rejects $OUT/$img.tar"
  got=${got% }
  echo "-- $img.tar layers: $got"
  [ "$got" = "$want" ] || die "skopeo reads layers '$got' from $img.tar, expected '$want'"
done
skopeo inspect --config "docker-archive:$OUT/debian.tar" >/dev/null || die "skopeo cannot read the config of debian.tar"
rm -rf "$BUILD"   # the tarballs hold the layers; the rootfs stays as the cache
done_step

# ---------------------------------------------------------------------------------------------
if [ -n "$REG_PORT" ]; then
  step "registry on 127.0.0.1:$REG_PORT"
  REGDIR="$OUT/registry"; PIDFILE="$OUT/registry.pid"; URL="http://127.0.0.1:$REG_PORT/v2/"
  answers() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL" 2>/dev/null | grep -q '^200$'; }
  ours() {  # the pid in registry.pid is a live docker-registry
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
      && [ "$(readlink "/proc/$(cat "$PIDFILE")/exe" 2>/dev/null)" = "$(readlink -f "$(command -v docker-registry)")" ]
  }
  if ours && answers; then
    echo "-- already running: pid $(cat "$PIDFILE")"
  else
    if ours; then kill "$(cat "$PIDFILE")"; sleep 1; fi
    rm -f "$PIDFILE"
    answers && die "127.0.0.1:$REG_PORT already answers /v2/ but is not the registry of $PIDFILE; stop it or pick another port"
    mkdir -p "$REGDIR/storage"
    cat >"$REGDIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGDIR/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
EOF
    # setsid: the registry outlives this script and its process group; $! is its own pid.
    setsid "$(command -v docker-registry)" serve "$REGDIR/config.yml" >>"$REGDIR/registry.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 100); do
      answers && break
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -n 20 "$REGDIR/registry.log" >&2; die "docker-registry exited (log: $REGDIR/registry.log)"; }
      sleep 0.2
    done
    answers || { tail -n 20 "$REGDIR/registry.log" >&2; die "docker-registry does not answer $URL after 20 s"; }
    echo "-- pid $(cat "$PIDFILE"), storage $REGDIR/storage; stop it with: kill \$(cat $PIDFILE)"
  fi
  done_step
fi

if [ -n "$PUSH" ]; then
  step "push to $PUSH and $PUSH-changed"
  for pair in "debian.tar $PUSH" "debian-changed.tar $PUSH-changed"; do
    set -- $pair
    skopeo copy -q --dest-tls-verify=false "docker-archive:$OUT/$1" "docker://$2" \
      || die "skopeo copy of $1 to docker://$2 failed"
    digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$2") \
      || die "pushed $1 but cannot inspect docker://$2"
    echo "-- docker://$2 $digest"
  done
  done_step
fi

awk -v a="$TOTAL_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "== total: %.1f s\n", b - a }'
echo "$OUT/debian.tar $OUT/debian-changed.tar $OUT/dpkg-query.txt ($NPKG packages)"
