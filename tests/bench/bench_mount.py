#!/usr/bin/python3
# Benchmark: standard tools over a ugitfs mount against git doing the same job on the same repository.
"""usage: bench_mount.py CACHE_DIR [--build DIR] [--runs N] [--files N] [--commits N]

Generates (once, under CACHE_DIR; the generator of bench_core.py) a repository of
--files files (default 20000) and --commits commits (default 200), then measures, each
run on a fresh mount and side by side with git, the median of --runs runs (default 5):

  tar of a snapshot            vs  git archive HEAD              (aim <= 1.5)
  a second tar of it           vs  tar of a plain checkout       (aim <= 1.2)
  find -printf '%s %m'         vs  git ls-tree -r -l HEAD        (aim <= 2)
  diff -rq of adjacent commits vs  git diff --stat               (aim <= 5)
  ls -f commits/ | wc -l       vs  git rev-list --all | wc -l    (aim <= 2)

and the daemon's peak resident memory (VmHWM). Not a test: speed is noisy here.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, HERE)
import bench_core  # noqa: E402  (the repository generator)
import fixtures  # noqa: E402
import mounting  # noqa: E402


def timed(cmd, cwd=None, env=None):
    """Seconds to run a shell command, its output discarded (the other benchmarks use it too)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def peak_rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('cache')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD', 'build'))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--files', type=int, default=20000)
    ap.add_argument('--commits', type=int, default=200)
    args = ap.parse_args()
    mounting.UGITFS = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
    os.makedirs(args.cache, exist_ok=True)
    fixtures.isolate(os.path.join(os.path.abspath(args.cache), 'home'))
    repo = os.path.join(os.path.abspath(args.cache), 'mount-%d-%d' % (args.files, args.commits))
    if not os.path.isdir(repo):
        bench_core.generate(repo, args.files, args.commits)
    git = 'git -C %s ' % repo
    head = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()
    parent = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD^'], capture_output=True, text=True,
                            check=True).stdout.strip()
    checkout = repo + '.checkout'
    if not os.path.isdir(checkout):
        subprocess.run(['git', '-C', repo, 'worktree', 'add', '-q', '--detach', checkout, head], check=True)
    ncommits = int(subprocess.run(git + 'rev-list --all | wc -l', shell=True, capture_output=True,
                                  text=True).stdout)
    print('repository: %s files, %d commits' % (args.files, ncommits))

    cases = [
        ('tar of a snapshot', 'tar -cf - -C {snap} . | cat > /dev/null', git + 'archive HEAD | cat > /dev/null', False),
        ('second tar of it', 'tar -cf - -C {snap} . | cat > /dev/null', 'tar -cf - -C %s --exclude=.git . | cat > /dev/null' % checkout, True),
        ("find -printf '%s %m'", "find {snap} -printf '%s %m\\n' > /dev/null", git + 'ls-tree -r -l HEAD > /dev/null', False),
        ('diff -rq adjacent', 'diff -rq {old} {snap} > /dev/null; test $? -le 1', git + 'diff --stat %s %s > /dev/null' % (parent, head), False),
        ('ls -f commits/', 'ls -f {mnt}/commits | wc -l > /dev/null', git + 'rev-list --all | wc -l > /dev/null', False),
    ]
    peak = 0
    print('%-22s %10s %10s %7s' % ('', 'ugitfs s', 'git s', 'ratio'))
    for name, ours, theirs, warm in cases:
        mine, base = [], []
        for _ in range(args.runs):
            with mounting.Mount(repo, ['ro']) as mnt:
                fmt = dict(mnt=mnt.mnt, snap=mnt.path('commits', head), old=mnt.path('commits', parent))
                if warm:
                    timed(ours.format(**fmt))
                mine.append(timed(ours.format(**fmt)))
                peak = max(peak, peak_rss_kib(mnt.proc.pid))
            base.append(timed(theirs))
        m, b = statistics.median(mine), statistics.median(base)
        print('%-22s %10.3f %10.3f %7.2f' % (name, m, b, m / b if b else float('inf')))
    print('daemon peak RSS: %.1f MiB' % (peak / 1024))


if __name__ == '__main__':
    main()
