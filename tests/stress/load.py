#!/usr/bin/python3
# Load: parallel readers of several snapshots while commits, repacks, gc --prune=now and syncs run; RSS sampled.
"""usage: load.py [--duration S] [--readers N] [--build DIR] [--files N] [--memory SIZE] [--dir DIR] [--keep]

Builds a bare repository (--files files, default 400, from 100 bytes to 200 KB, over
30 commits, packed with deltas), mounts it with the real ugitfs (work/ on main), and
for --duration seconds (default 600) runs:

- --readers processes (default 8), each walking snapshots commits/<id>/ of 6 commits
  of that history: every folder listed and compared with `git ls-tree`, every file
  read whole and compared with what `git cat-file` printed before the mount, its mode
  checked (0444/0555), every symlink's target compared; each file's page cache is
  dropped after reading (posix_fadvise) so that every read reaches the daemon;
- one background loop: a commit in a separate clone, pushed to main; a new file
  written in work/ and `ugitfs --sync`, whose commit must hold it; every 5th round
  `git repack -a -d`, every 10th `git gc --prune=now` in the bare repository;
- a sampler of the daemon's VmRSS every second.

Prints reads done, read errors, lost changes (synced files missing from their commit
or later from main), RSS min/median/max and the medians of the first and the last
minute. Exits 1 on any read error, lost change, failed git step, fsck error or
daemon crash.
"""

import argparse
import multiprocessing
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

import common

SNAPSHOTS = 6
COMMITS = 30
WORDS = ('alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho '
         'sigma tau upsilon phi chi psi omega').split()


_POOL = []


def text(rnd, size):
    """size bytes of text lines, a slice of one pool made once (building must be quick)."""
    if not _POOL:
        r = random.Random(0)
        _POOL.append(''.join(' '.join(r.choice(WORDS) for _ in range(10)) + '\n' for _ in range(8000)))
    pool = _POOL[0]
    start = rnd.randrange(len(pool) - size) if size < len(pool) else 0
    out = pool[start:start + size]
    while len(out) < size:
        out += pool[:size - len(out)]
    return out


def build_repo(root, files, seed):
    """A bare repository of COMMITS commits; returns its path."""
    rnd = random.Random(seed)
    src = os.path.join(root, 'seed')
    common.git(root, 'init', '-q', '-b', 'main', src)
    paths = []
    for i in range(files):
        d = 'src/d%02d/s%d' % (i % 23, i % 3) if i % 5 else 'src/d%02d' % (i % 23)
        paths.append('%s/f%04d.txt' % (d, i))
    for c in range(COMMITS):
        todo = paths if c == 0 else rnd.sample(paths, max(1, files // 20))
        for p in todo:
            full = os.path.join(src, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if c == 0:
                size = rnd.choice((100, 1000, 5000, 20000, 60000, 200000))
                with open(full, 'w') as f:
                    f.write(text(rnd, size))
                if rnd.random() < 0.1:
                    os.chmod(full, 0o755)
            else:
                with open(full) as f:
                    lines = f.read().splitlines(True)
                k = rnd.randrange(len(lines) + 1)
                lines[k:k + 2] = [text(rnd, 200)]
                with open(full, 'w') as f:
                    f.write(''.join(lines))
        if c % 7 == 3:
            link = os.path.join(src, 'links', 'l%d' % c)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink('../' + rnd.choice(paths), link)
        common.git(src, 'add', '-A')
        common.git(src, 'commit', '-q', '-m', 'commit %d' % c)
    bare = os.path.join(root, 'repo.git')
    common.git(root, 'clone', '-q', '--bare', src, bare)
    common.git(bare, 'gc', '-q')
    shutil.rmtree(src)
    return bare


def expected(bare, commit):
    """What commits/<commit>/ must show: {folder: sorted names}, {path: (kind, mode, bytes)}."""
    out = common.git(bare, 'ls-tree', '-r', '-t', '-z', commit).decode()
    folders = {'': []}
    entries = {}
    oids = []
    for item in out.split('\0'):
        if not item:
            continue
        meta, path = item.split('\t', 1)
        mode, kind, oid = meta.split()
        parent, name = os.path.split(path)
        folders.setdefault(parent, []).append(name)
        if kind == 'tree':
            folders.setdefault(path, [])
        else:
            entries[path] = [kind, mode, oid]
            oids.append(oid)
    data = common.git(bare, 'cat-file', '--batch', input=('\n'.join(oids) + '\n').encode())
    blobs = {}
    pos = 0
    for oid in oids:
        nl = data.index(b'\n', pos)
        size = int(data[pos:nl].split()[2])
        blobs[oid] = data[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
    for path, e in entries.items():
        e[2] = blobs[e[2]]
    return {k: sorted(v) for k, v in folders.items()}, {p: tuple(e) for p, e in entries.items()}


def reader_main(n, mnt, snaps, stop, results):
    """Walk the snapshots in turn until stop is set; put (reads, errors, first errors) on results."""
    rnd = random.Random(n)
    reads = 0
    errors = 0
    first = []

    def bad(msg):
        nonlocal errors
        errors += 1
        if len(first) < 10:
            first.append('reader %d: %s' % (n, msg))
    while not stop.is_set():
        commit, folders, entries = rnd.choice(snaps)
        root = os.path.join(mnt, 'commits', commit)
        items = list(folders.items())
        rnd.shuffle(items)
        for folder, names in items:
            if stop.is_set():
                break
            try:
                got = sorted(os.listdir(os.path.join(root, folder)))
            except OSError as e:
                bad('listdir %s/%s: %s' % (commit[:8], folder, e))
                continue
            if got != names:
                bad('listdir %s/%s: %d names, want %d' % (commit[:8], folder, len(got), len(names)))
            for name in names:
                path = os.path.join(folder, name) if folder else name
                if path not in entries:
                    continue
                kind, mode, data = entries[path]
                full = os.path.join(root, path)
                try:
                    if mode == '120000':
                        if os.readlink(full) != data.decode():
                            bad('readlink %s/%s differs' % (commit[:8], path))
                        reads += 1
                        continue
                    fd = os.open(full, os.O_RDONLY)
                    try:
                        st = os.fstat(fd)
                        chunks = []
                        while True:
                            b = os.read(fd, 1 << 17)
                            if not b:
                                break
                            chunks.append(b)
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
                    reads += 1
                    if b''.join(chunks) != data:
                        bad('read %s/%s: bytes differ from git cat-file' % (commit[:8], path))
                    want = 0o555 if mode == '100755' else 0o444
                    if stat.S_IMODE(st.st_mode) != want:
                        bad('mode of %s/%s: %o, want %o' % (commit[:8], path, stat.S_IMODE(st.st_mode), want))
                except OSError as e:
                    bad('%s/%s: %s' % (commit[:8], path, e))
    results.put((reads, errors, first))


class Load:
    def __init__(self, args):
        self.args = args
        self.ugitfs = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
        self.dir = args.dir or tempfile.mkdtemp(prefix='ugitfs-load-')
        os.makedirs(self.dir, exist_ok=True)
        common.fixtures.isolate(os.path.join(self.dir, 'home'))
        self.mnt = os.path.join(self.dir, 'mnt')
        os.makedirs(self.mnt, exist_ok=True)
        self.rss = []  # (seconds since start, KiB)
        self.counts = {'commits pushed': 0, 'pushes rejected': 0, 'syncs': 0, 'repacks': 0, 'gcs': 0}
        self.lost = []
        self.failures = []
        self.synced = {}  # work/ path -> bytes

    def log(self, msg):
        print('[%6.1f] %s' % (time.monotonic() - self.t0, msg), flush=True)

    def sampler(self, stop):
        while not stop.wait(1.0):
            kib = common.vm_rss_kib(self.daemon.proc.pid)
            if kib is not None:
                self.rss.append((time.monotonic() - self.start, kib))

    def background(self, stop):
        clone = os.path.join(self.dir, 'clone')
        common.git(self.dir, 'clone', '-q', self.bare, clone)
        rnd = random.Random(7)
        files = common.git(clone, 'ls-files', 'src').decode().split()
        n = 0
        while not stop.is_set():
            n += 1
            try:
                self.commit_and_push(clone, rnd, files, n)
                self.sync_in_work(n)
                if n % 5 == 0:
                    self.step(['git', '-C', self.bare, 'repack', '-q', '-a', '-d'], 'repacks')
                if n % 10 == 0:
                    self.step(['git', '-C', self.bare, 'gc', '-q', '--prune=now'], 'gcs')
            except Exception as e:  # noqa: BLE001 (reported as a failure)
                self.failures.append('round %d: %s' % (n, str(e)[:300]))
            stop.wait(rnd.uniform(0.2, 1.0))

    def step(self, argv, what):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode:
            self.failures.append('%s: exit %d: %s' % (' '.join(argv), p.returncode, p.stdout.decode()[-300:]))
        else:
            self.counts[what] += 1

    def commit_and_push(self, clone, rnd, files, n):
        for attempt in range(10):
            common.git(clone, 'fetch', '-q', 'origin')
            common.git(clone, 'reset', '-q', '--hard', 'origin/main')
            for p in rnd.sample(files, 5):
                with open(os.path.join(clone, p), 'a') as f:
                    f.write('round %d\n' % n)
            common.git(clone, 'commit', '-q', '-a', '-m', 'load round %d' % n)
            p = subprocess.run(['git', '-C', clone, 'push', '-q', 'origin', 'HEAD:refs/heads/main'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode == 0:
                self.counts['commits pushed'] += 1
                return
            self.counts['pushes rejected'] += 1
        raise RuntimeError('push rejected 10 times')

    def sync_in_work(self, n):
        rel = 'load/f%05d' % n
        data = b'work round %d\n' % n
        path = os.path.join(self.mnt, 'work', rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        rc, out, err = common.ugitfs_cmd(self.ugitfs, '--sync', self.mnt)
        if rc != 0:
            self.failures.append('ugitfs --sync: exit %s: %s' % (rc, err.strip()))
            return
        commit = out.strip()
        self.counts['syncs'] += 1
        self.synced[rel] = data
        got = common.git(self.bare, 'cat-file', 'blob', '%s:%s' % (commit, rel), check=False)
        if got != data:
            self.lost.append('sync %s of round %d: %s holds %r, want %r' % (commit[:12], n, rel, got, data))

    def check_main(self):
        """Every file synced in work/ is still in main (nothing later dropped it)."""
        for rel, data in sorted(self.synced.items()):
            got = common.git(self.bare, 'cat-file', 'blob', 'main:' + rel, check=False)
            if got != data:
                self.lost.append('main lost %s (holds %r)' % (rel, got[:40]))

    def run(self):
        self.t0 = time.monotonic()
        self.bare = build_repo(self.dir, self.args.files, 1)
        commits = common.git(self.bare, 'rev-list', '--reverse', 'main').decode().split()
        picks = [commits[i * (len(commits) - 1) // (SNAPSHOTS - 1)] for i in range(SNAPSHOTS)]
        snaps = [(c, *expected(self.bare, c)) for c in picks]
        nfiles = sum(len(s[2]) for s in snaps)
        size = sum(len(e[2]) for s in snaps for e in s[2].values())
        self.log('repository: %d commits; %d snapshots, %d files, %.1f MB to read per round of all' % (
            len(commits), len(snaps), nfiles, size / 1e6))
        opts = ['branch=main'] + (['memory=' + self.args.memory] if self.args.memory else [])
        self.daemon = common.Daemon(self.ugitfs, self.bare, self.mnt, opts, self.dir)
        ctx = multiprocessing.get_context('fork')
        stop_readers = ctx.Event()
        results = ctx.Queue()
        stop = threading.Event()
        readers = []
        status = None
        try:
            self.start = time.monotonic()
            for n in range(self.args.readers):
                p = ctx.Process(target=reader_main, args=(n, self.mnt, snaps, stop_readers, results))
                p.start()
                readers.append(p)
            threads = [threading.Thread(target=self.sampler, args=(stop,), daemon=True),
                       threading.Thread(target=self.background, args=(stop,), daemon=True)]
            for t in threads:
                t.start()
            end = self.start + self.args.duration
            while time.monotonic() < end and self.daemon.alive():
                common.deadline_sleep(min(end, time.monotonic() + 60))
                self.log('%s; RSS %s KiB' % (', '.join('%s %d' % kv for kv in self.counts.items()),
                                             self.rss[-1][1] if self.rss else '?'))
            stop_readers.set()
            reads = errors = 0
            first = []
            for _ in readers:
                r, e, f = results.get(timeout=300)
                reads += r
                errors += e
                first += f
            stop.set()
            for t in threads:
                t.join(120)
            self.cpu = common.cpu_seconds(self.daemon.proc.pid)
            if not self.daemon.alive():
                self.failures.append('the daemon died (status %s): %s' % (self.daemon.proc.returncode,
                                                                         self.daemon.output()[-2000:]))
            else:
                status = self.daemon.stop()
                if status != 0:
                    self.failures.append('daemon exited %s at unmount' % status)
            out = self.daemon.output()
            bad = [b for b in common.BAD_OUTPUT if b in out]
            if bad:
                self.failures.append('daemon output shows %s' % bad)
            self.check_main()
            p = subprocess.run(['git', '-C', self.bare, 'fsck', '--strict', '--no-dangling', '--no-progress'],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode:
                self.failures.append('git fsck --strict: %s' % p.stdout.decode()[-1000:])
        finally:
            stop_readers.set()
            stop.set()
            for p in readers:
                p.join(30)
                if p.is_alive():
                    p.kill()
            if self.daemon.alive():
                self.daemon.kill()
            self.daemon.close()
        return self.summary(reads, errors, first)

    def summary(self, reads, errors, first):
        el = time.monotonic() - self.start
        print()
        print('== load summary ==')
        print('duration %.0f s, readers %d' % (el, self.args.readers))
        print('reads: %d (%.0f/s), read errors: %d; daemon CPU %.1f s' % (
            reads, reads / el if el else 0, errors, getattr(self, 'cpu', None) or 0))
        for f in first[:10]:
            print('  ' + f)
        print('background: %s' % ', '.join('%s %d' % kv for kv in self.counts.items()))
        print('lost changes: %d' % len(self.lost))
        for f in self.lost[:10]:
            print('  ' + f)
        kib = [k for _, k in self.rss]
        if kib:
            first_min = [k for t, k in self.rss if t < 60]
            last_min = [k for t, k in self.rss if t >= self.rss[-1][0] - 60]
            mib = lambda k: '%.1f' % (k / 1024)  # noqa: E731
            print('daemon RSS (MiB, %d samples): min %s, median %s, max %s; first minute median %s '
                  '(max %s), last minute median %s (max %s)' % (
                      len(kib), mib(min(kib)), mib(common.median(kib)), mib(max(kib)),
                      mib(common.median(first_min)), mib(max(first_min)), mib(common.median(last_min)),
                      mib(max(last_min))))
        print('failures: %d' % len(self.failures))
        for f in self.failures[:10]:
            print('  ' + f)
        bad = errors or self.lost or self.failures
        print('RESULT: %s' % ('FAIL' if bad else 'PASS'))
        if self.args.keep or bad:
            print('kept: %s' % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('--duration', type=float, default=600)
    ap.add_argument('--readers', type=int, default=8)
    ap.add_argument('--files', type=int, default=400)
    ap.add_argument('--memory', help='the daemon\'s -o memory= (default: its own default)')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD',
                                                      os.path.join(common.HERE, '..', '..', 'build')))
    ap.add_argument('--dir', help='where the repository and mount point go (default: a new temporary folder)')
    ap.add_argument('--keep', action='store_true', help='keep that folder')
    args = ap.parse_args()
    sys.exit(Load(args).run())


if __name__ == '__main__':
    main()
