#!/bin/sh
# Install what ugitfs needs (Debian packages), build it, and mount this very repository at /tmp/ugitfs-demo.
set -e
cd "$(dirname "$0")/.."
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(cat .ci/packages) >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
mnt=/tmp/ugitfs-demo
fusermount3 -u "$mnt" 2>/dev/null || true
mkdir -p "$mnt"
build/mount-tools/ugitfs . "$mnt"
echo "ugitfs: this repository is mounted at $mnt"
ls -l "$mnt" "$mnt/branches"
echo "the history of main, oldest first:"
ls "$mnt/log/main" | tail -n 8
echo "browse it, e.g.: ls $mnt/HEAD/  getfattr -d $mnt/HEAD/   unmount: fusermount3 -u $mnt"
