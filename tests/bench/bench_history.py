#!/usr/bin/python3
# Benchmark: history questions over a ugitfs mount (last-change times, diff -rq, commits/, log/) against git.
"""usage: bench_history.py CACHE_DIR [--build DIR] [--runs N] [--files N] [--commits N]

git/git is not available offline, so this generates (once, under CACHE_DIR) a repository
of --files files (default 20000, in 100 folders, plus a COPYING that only the first commit
touches) and --commits first-parent commits (default 3000) that each change a few files,
every 50th a --no-ff merge of a side branch, then `git gc`. A copy of it gets a commit-graph
with changed-path filters (`git commit-graph write --reachable --changed-paths`).

Each row is the median of --runs runs (default 5), each on a fresh mount, side by side with
git doing the same job on the same repository:

  diff -rq of adjacent commits (after an untimed ls -l of both roots)  vs  git diff --stat
  first ls -l commits/<tip>/, no commit-graph                 vs  git log -1 --first-parent -- COPYING
  the same, with a commit-graph with changed-path filters     vs  the same git command
  ls -f commits/ | wc -l, with the graph                      vs  git rev-list --all | wc -l
  ls log/main, with the graph                                 vs  git log --first-parent --format='%h %ct %s'
  find -printf '%s %m' of a snapshot                          vs  git ls-tree -r -l HEAD
  first tar of a snapshot                                     vs  git archive HEAD

and the daemon's peak resident memory (VmHWM) over all of them, then what git takes to list
every first-parent commit's changes (`git log --first-parent -r --raw`), the work exact
last-change times of a whole snapshot need, and what bounds the first tar: the same tar
with -o mtime=commit (no history walks), a second tar (every file in the kernel's caches,
no request made), and tar of the same files on tmpfs (no FUSE at all), each against
git archive. Not a test: speed is noisy here.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import fixtures  # noqa: E402
import mounting  # noqa: E402
from bench_mount import peak_rss_kib, timed  # noqa: E402


def fast_import(proc, nfiles, ncommits):
    """The history as a fast-import stream: main's first-parent line, and side branches merged in."""
    rnd = random.Random(9)
    w = proc.stdin.write
    paths = ['src/d%03d/f%05d.c' % (i % 100, i) for i in range(nfiles)]
    hot = rnd.sample(range(nfiles), nfiles // 10)
    version = [0] * nfiles

    def data(b):
        w(b'data %d\n' % len(b))
        w(b)
        w(b'\n')

    def blob(i):
        return ('/* file %d version %d */\nint f%d(void) { return %d; }\n' % (i, version[i], i, version[i])).encode()

    def commit(ref, mark, when, msg, parents, changed, copying=False):
        w(b'commit %s\nmark :%d\n' % (ref, mark))
        w(b'author A U Thor <author@example.com> %d +0000\n' % when)
        w(b'committer C O Mitter <committer@example.com> %d +0000\n' % when)
        data(msg.encode())
        for k, p in enumerate(parents):
            w(b'%s :%d\n' % (b'from' if k == 0 else b'merge', p))
        if copying:
            w(b'M 100644 inline COPYING\n')
            data(b'Copying is allowed.\n' * 50)
        for i in changed:
            version[i] += 1
            w(b'M 100644 inline %s\n' % paths[i].encode())
            data(blob(i))

    when, mark = fixtures.EPOCH, 1
    commit(b'refs/heads/main', mark, when, 'import', [], range(nfiles), copying=True)
    tip = mark
    for c in range(1, ncommits):
        when += 60
        changed = set(rnd.sample(hot, 3) + rnd.sample(range(nfiles), 2))
        if c % 50 == 0:
            mark += 1
            commit(b'refs/heads/side', mark, when, 'side work %d' % c, [tip], changed)
            side = mark
            when += 60
            mark += 1
            commit(b'refs/heads/main', mark, when, 'Merge side work %d' % c, [tip, side], [])
        else:
            mark += 1
            commit(b'refs/heads/main', mark, when, 'change %d: a few files' % c, [tip], changed)
        tip = mark
    proc.stdin.close()


def generate(repo, nfiles, ncommits):
    tmp = repo + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    fixtures.run_git(['init', '-q', '-b', 'main', tmp])
    proc = subprocess.Popen(['git', '-C', tmp, 'fast-import', '--quiet'], stdin=subprocess.PIPE)
    fast_import(proc, nfiles, ncommits)
    if proc.wait() != 0:
        sys.exit('git fast-import failed')
    fixtures.run_git(['-C', tmp, 'reset', '-q', '--soft', 'main'])
    fixtures.run_git(['-C', tmp, 'gc', '-q'])
    os.rename(tmp, repo)


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('cache')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD', 'build'))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--files', type=int, default=20000)
    ap.add_argument('--commits', type=int, default=3000)
    args = ap.parse_args()
    mounting.UGITFS = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
    cache = os.path.abspath(args.cache)
    os.makedirs(cache, exist_ok=True)
    fixtures.isolate(os.path.join(cache, 'home'))
    plain = os.path.join(cache, 'history-%d-%d' % (args.files, args.commits))
    graphed = plain + '.graph'
    if not os.path.isdir(plain):
        generate(plain, args.files, args.commits)
    if not os.path.isdir(graphed):
        shutil.copytree(plain, graphed + '.tmp', symlinks=True)
        fixtures.run_git(['-C', graphed + '.tmp', 'commit-graph', 'write', '--reachable', '--changed-paths'])
        os.rename(graphed + '.tmp', graphed)

    def rev(r, what):
        return fixtures.run_git(['-C', r, 'rev-parse', what]).decode().strip()
    head, parent = rev(plain, 'main'), rev(plain, 'main^')
    ncommits = len(fixtures.run_git(['-C', plain, 'rev-list', '--all']).split())
    print('repository (generated: git/git is not available offline): %d files, %d commits' % (args.files + 1, ncommits))

    # (name, repo, warm-up on the mount (untimed), ugitfs command, git command)
    cases = [
        ('diff -rq adjacent', plain, 'ls -l {snap} {old} > /dev/null',
         'diff -rq {old} {snap} > /dev/null; test $? -le 1', 'diff --stat %s %s' % (parent, head)),
        ('first ls -l tip, no graph', plain, None, 'ls -l {snap} > /dev/null',
         'log -1 --first-parent --format=%H main -- COPYING'),
        ('first ls -l tip, graph', graphed, None, 'ls -l {snap} > /dev/null',
         'log -1 --first-parent --format=%H main -- COPYING'),
        ('ls -f commits/, graph', graphed, None, 'ls -f {mnt}/commits | wc -l > /dev/null',
         'rev-list --all | wc -l'),
        ('ls log/main, graph', graphed, None, 'ls {mnt}/log/main > /dev/null',
         "log --first-parent --format='%h %ct %s' main"),
        ("find -printf '%s %m'", plain, None, "find {snap} -printf '%s %m\\n' > /dev/null", 'ls-tree -r -l HEAD'),
        ('first tar of a snapshot', plain, None, 'tar -cf - -C {snap} . | cat > /dev/null',
         'archive HEAD | cat'),
    ]
    peak = 0
    print('%-28s %10s %10s %7s' % ('', 'ugitfs s', 'git s', 'ratio'))
    for name, repo, warm, ours, theirs in cases:
        mine, base = [], []
        for _ in range(args.runs):
            with mounting.Mount(repo, ['ro']) as mnt:
                fmt = dict(mnt=mnt.mnt, snap=mnt.path('commits', head), old=mnt.path('commits', parent))
                if warm:
                    timed(warm.format(**fmt))
                mine.append(timed(ours.format(**fmt)))
                peak = max(peak, peak_rss_kib(mnt.proc.pid))
            base.append(timed('git -C %s %s > /dev/null' % (repo, theirs)))
        m, b = statistics.median(mine), statistics.median(base)
        print('%-28s %10.3f %10.3f %7.2f' % (name, m, b, m / b if b else float('inf')), flush=True)
    print('daemon peak RSS: %.1f MiB' % (peak / 1024))
    # What the last change of every path of a snapshot costs git itself: each version of
    # every folder read once (the floor of find and the first tar on a fresh mount).
    raw = statistics.median(timed('git -C %s log --first-parent -r --raw --no-abbrev --format=%%ct main'
                                  % plain) for _ in range(args.runs))
    print('git log --first-parent -r --raw main (every path\'s last change): %.3f s' % raw)
    tar_floors(plain, head, args.runs)


def tar_floors(repo, head, runs):
    """What bounds the first tar: without history walks, with every file already in the
    kernel's caches, and with no FUSE at all (the same files on tmpfs), each against git archive."""
    tar = 'tar -cf - -C %s . | cat > /dev/null'
    rows = []
    for name, opts, warm in (('first tar, -o mtime=commit', ['ro', 'mtime=commit'], False),
                             ('second tar (kernel caches)', ['ro'], True)):
        mine = []
        for _ in range(runs):
            with mounting.Mount(repo, opts) as mnt:
                snap = mnt.path('commits', head)
                if warm:
                    timed(tar % snap)
                mine.append(timed(tar % snap))
        rows.append((name, statistics.median(mine)))
    with open('/proc/mounts') as f:
        shm = any(line.split()[1:3] == ['/dev/shm', 'tmpfs'] for line in f)
    with tempfile.TemporaryDirectory(prefix='ugitfs-tar-', dir='/dev/shm' if shm else None) as d:
        subprocess.run('git -C %s archive HEAD | tar -xf - -C %s' % (repo, d), shell=True, check=True)
        timed(tar % d)
        rows.append(('tar of the files on ' + ('tmpfs' if shm else 'local disk, cached'),
                     statistics.median(timed(tar % d) for _ in range(runs))))
    base = statistics.median(timed('git -C %s archive HEAD | cat > /dev/null' % repo) for _ in range(runs))
    print('the first tar\'s floors, against git archive HEAD (%.3f s):' % base)
    for name, t in rows:
        print('  %-32s %10.3f %7.2f' % (name, t, t / base))


if __name__ == '__main__':
    main()
