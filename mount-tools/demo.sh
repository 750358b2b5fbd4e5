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
# work/ never shows a branch that a worktree has checked out (main, here): a branch made for the demo
git show-ref -q --verify refs/heads/demo || git branch demo HEAD
build/mount-tools/ugitfs -o branch=demo . "$mnt"
echo "ugitfs: this repository is mounted at $mnt (work/ edits branch demo)"
ls -l "$mnt" "$mnt/branches" "$mnt/work"
echo "the history of main, oldest first:"
ls "$mnt/log/main" | tail -n 8
echo "browse it, e.g.: ls $mnt/HEAD/  getfattr -d $mnt/HEAD/   edit $mnt/work/, then: build/mount-tools/ugitfs --sync $mnt"
echo "unmount: fusermount3 -u $mnt"
