#!/usr/bin/env python3
"""Replay the seed corpora and the saved crash inputs through every fuzz target, built without libFuzzer (TAP).

Usage: tests/fuzz/replay.py BUILDDIR   (BUILDDIR holds replay_<target> for each tests/fuzz/fuzz_<target>.c)
One check per target: every seed (made by make_corpus.py) and every file of tests/fuzz/crashes/fuzz_<target>/
runs to the end with no crash or sanitizer report.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main(builddir):
    targets = sorted(f[len("fuzz_"):-2] for f in os.listdir(HERE)
                     if f.startswith("fuzz_") and f.endswith(".c") and f != "fuzz_util.c")
    print("1..%d" % len(targets))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ugitfs-replay-") as tmp:
        seeds = os.path.join(tmp, "seeds")
        subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), seeds], check=True,
                       stdout=subprocess.DEVNULL)
        env = dict(os.environ, UGITFS_FUZZ_TMP=os.path.join(tmp, "scratch"))
        for i, t in enumerate(targets, 1):
            dirs = [d for d in (os.path.join(seeds, "fuzz_" + t), os.path.join(HERE, "crashes", "fuzz_" + t))
                    if os.path.isdir(d)]
            r = subprocess.run([os.path.join(builddir, "replay_" + t), *dirs], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode == 0:
                print("ok %d - fuzz_%s: %s" % (i, t, r.stdout.strip()))
            else:
                failed += 1
                print("not ok %d - fuzz_%s: exit %d" % (i, t, r.returncode))
                for line in (r.stdout + r.stderr).splitlines()[-20:]:
                    print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
