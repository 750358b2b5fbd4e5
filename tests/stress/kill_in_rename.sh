#!/bin/bash
# Reproducer: SIGKILL of the daemon inside a folder rename in work/, at a chosen step (needs gdb).
# usage: kill_in_rename.sh BUILD_DIR onto-empty|committed
#   onto-empty: `mv -T src dst` onto an empty folder, killed after the target was removed
#               and before the source moved: wrong if both src/ and dst/ are gone or only src/ is left
#   committed:  `mv top top2` of a committed folder, killed after the copy moved and before
#               the source was hidden: wrong if both top/ and top2/ show
# Prints work/ before, and after a remount; the right result is the "before" listing or the
# rename done, nothing else.
set -u
UGITFS=$1/mount-tools/ugitfs
MODE=${2:-onto-empty}
T=$(mktemp -d /tmp/kill-in-rename-XXXXXX)
export GIT_CONFIG_NOSYSTEM=1 HOME=$T GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@x
git init -q -b main "$T/seed"
echo x > "$T/seed/README" && mkdir "$T/seed/top" && echo y > "$T/seed/top/y"
git -C "$T/seed" add -A && git -C "$T/seed" commit -qm start && git clone -q --bare "$T/seed" "$T/repo.git"
mkdir "$T/mnt"
mount_it() {
	"$UGITFS" -f -o branch=main "$T/repo.git" "$T/mnt" 2>>"$T/log" &
	PID=$!
	for _ in $(seq 100); do mountpoint -q "$T/mnt" && return; sleep 0.1; done
	echo "no mount: $(cat "$T/log")"; exit 1
}
mount_it
W=$T/mnt/work
if [ "$MODE" = onto-empty ]; then
	mkdir "$W/src" "$W/dst" && echo data > "$W/src/f"
	STOP=work_ensure_parent; SRC=src; DST=dst
else
	STOP=work_whiteout; SRC=top; DST=top2
fi
echo "before: $(cd "$W" && find . | sort | tr '\n' ' ')"
gdb -q -p $PID -batch -ex "break $STOP" -ex continue -ex kill >"$T/gdb.log" 2>&1 &
GDB=$!
sleep 3 # gdb attached
mv -T "$W/$SRC" "$W/$DST" 2>/dev/null; echo "mv: exit $? (the daemon was killed inside it)"
wait $GDB; wait $PID 2>/dev/null
fusermount3 -u -z "$T/mnt"
mount_it
echo "after:  $(cd "$W" && find . | sort | tr '\n' ' ')"
echo "status: $("$UGITFS" --status "$T/mnt" | tr '\n' ' ')"
fusermount3 -u "$T/mnt"; wait $PID
rm -rf "$T"
