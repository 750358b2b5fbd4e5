#!/bin/sh
# Install what ugitfs needs (Debian packages), build it, mount a demo repository at /tmp/ugitfs-demo, and tour it.
set -e
cd "$(dirname "$0")/.."
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(cat .ci/packages) >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
ugitfs=$PWD/build/mount-tools/ugitfs
mnt=/tmp/ugitfs-demo
repo=/tmp/ugitfs-demo-repo.git
fusermount3 -u "$mnt" 2>/dev/null || true
rm -rf "$repo"

# The demo repository: a bare clone of this project (a bare repository always gets work/),
# or, without git history here, three small commits made now.
if git rev-parse --git-dir >/dev/null 2>&1; then
	git clone -q --bare . "$repo"
else
	git init -q --bare -b main "$repo"
	tree=$(mktemp -d)
	for n in 1 2 3; do
		echo "version $n" >"$tree/README.md"
		git --git-dir="$repo" --work-tree="$tree" add README.md
		git --git-dir="$repo" --work-tree="$tree" -c user.name=demo -c user.email=demo@example.org \
			commit -q -m "version $n"
	done
	rm -rf "$tree"
fi
git -C "$repo" tag demo-first "$(git -C "$repo" rev-list --max-parents=0 HEAD | tail -n 1)"
branch=$(git -C "$repo" symbolic-ref --short HEAD)

mkdir -p "$mnt"
"$ugitfs" -o "author=ugitfs demo <demo@example.org>" "$repo" "$mnt"
say() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; sh -c "$*" 2>&1 | sed 's/^/  /'; }
cd "$mnt"
say "ugitfs: $repo (a bare clone of this project) is mounted at $mnt"
show "ls"
say "HEAD is a link to the branch it names; branches/ and tags/ are links into commits/"
show "ls -l HEAD branches/ tags/"
say "log/$branch/: the branch's first-parent history, oldest first (the last 5 here)"
show "ls log/$branch | tail -n 5"
say "commits/ID/: a commit's snapshot, read-only, with its metadata as extended attributes"
show "ls -l HEAD/ | head -n 8"
show "getfattr -d --only-values -n user.ugit.message HEAD/"
say "snapshots are folders: compare two with diff -r (names of changed files here)"
a=$(ls "log/$branch" | tail -n 2 | head -n 1 | cut -c1-6)
b=$(ls "log/$branch" | tail -n 1 | cut -c1-6)
show "diff -rq log/$branch/${a}_* log/$branch/${b}_* | head -n 5"
say "versions/$branch/: the tip's tree, where each file is a folder of its versions (README.md's last 3 here)"
show "ls versions/$branch/README.md | tail -n 3"
v1=$(ls "versions/$branch/README.md" | tail -n 2 | head -n 1 | cut -c1-6)
v2=$(ls "versions/$branch/README.md" | tail -n 1 | cut -c1-6)
say "two versions of a file are two files: compare them with diff (the first lines here)"
show "diff versions/$branch/README.md/${v1}_* versions/$branch/README.md/${v2}_* | head -n 8"
say "work/: the branch $branch, writable; changes become commits"
show "echo 'written in work/' > work/DEMO.txt"
show "$ugitfs --status $mnt"
show "$ugitfs --sync -m 'demo: a commit made in work/' $mnt"
show "git -C $repo log -1 --format='%h %s (%an)' $branch"
cd /
echo
echo "Browse it: a file manager on $mnt, or ls $mnt/commits/, cat $mnt/HEAD/README.md"
echo "Unmount:   fusermount3 -u $mnt   (man -l mount-tools/ugitfs.1 says everything else)"
