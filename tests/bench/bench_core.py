#!/usr/bin/python3
# Benchmark: reading every blob of a large deep-delta repository, git cat-file --batch against ugtool batch.
"""usage: bench_core.py CACHE_DIR [--build DIR] [--runs N] [--files N] [--commits N]

Generates (once, kept under CACHE_DIR) a repository of --files files (default 20000)
whose history has --commits commits (default 100) that modify files, packed with
`git gc --aggressive` (long delta chains); lists every blob reachable from HEAD (all
versions in its history); then times `git cat-file --batch` and `ugtool REPO batch`
over that list, --runs times each (default 5, interleaved, after one warm-up run), and
prints the medians side by side and their ratio. Both outputs are compared once.
ugtool is taken from --build (default: $UGITFS_BUILD, else ./build) /tests/ugtool.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import fixtures  # noqa: E402  (git isolation and helpers shared with the tests)

WORDS = ('alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi '
         'omicron pi rho sigma tau upsilon phi chi psi omega').split()


def file_content(rnd, templates, i, version):
    """A text file: a shared template (deltas across files) and lines of its own."""
    own = ''.join('%05d.%d %s\n' % (i, k, ' '.join(rnd.choice(WORDS) for _ in range(8)))
                  for k in range(6 + i % 7))
    return ('%s\n# file %d, version %d\n%s' % (templates[i % len(templates)], i, version, own)).encode()


def fast_import_stream(proc, nfiles, ncommits):
    rnd = random.Random(2024)
    templates = [''.join('template %d line %d: %s\n' % (t, k, ' '.join(rnd.choice(WORDS) for _ in range(10)))
                         for k in range(20)) for t in range(16)]
    paths = ['src/d%03d/f%05d.txt' % (i // 200, i) for i in range(nfiles)]
    versions = [0] * nfiles
    hot = rnd.sample(range(nfiles), max(1, nfiles // 20))
    w = proc.stdin.write

    def data(b):
        w(b'data %d\n' % len(b))
        w(b)
        w(b'\n')

    when = fixtures.EPOCH
    for c in range(ncommits + 1):
        w(b'commit refs/heads/main\nmark :%d\n' % (c + 1))
        w(b'author A U Thor <author@example.com> %d +0000\n' % when)
        w(b'committer C O Mitter <committer@example.com> %d +0000\n' % when)
        data(b'commit %d\n' % c)
        if c == 0:
            changed = range(nfiles)
        else:
            w(b'from :%d\n' % c)
            changed = set(rnd.sample(hot, min(len(hot), 100)) + rnd.sample(range(nfiles), 50))
        for i in changed:
            if c:
                versions[i] += 1
            w(b'M 100644 inline %s\n' % paths[i].encode())
            data(file_content(random.Random(i * 1000 + versions[i]), templates, i, versions[i]))
        when += 60
    proc.stdin.close()


def generate(repo, nfiles, ncommits):
    tmp = repo + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    fixtures.run_git(['init', '-q', '-b', 'main', tmp])
    t0 = time.time()
    proc = subprocess.Popen(['git', '-C', tmp, 'fast-import', '--quiet'], stdin=subprocess.PIPE)
    fast_import_stream(proc, nfiles, ncommits)
    if proc.wait() != 0:
        sys.exit('git fast-import failed')
    fixtures.run_git(['-C', tmp, 'reset', '-q', '--soft', 'main'])
    print('fast-import: %.1f s; git gc --aggressive ...' % (time.time() - t0), flush=True)
    t0 = time.time()
    fixtures.run_git(['-C', tmp, 'gc', '-q', '--aggressive'])
    print('gc --aggressive: %.1f s' % (time.time() - t0), flush=True)
    os.rename(tmp, repo)


def delta_depth(repo):
    depth = 0
    packdir = os.path.join(repo, '.git', 'objects', 'pack')
    for name in os.listdir(packdir):
        if name.endswith('.idx'):
            out = fixtures.run_git(['verify-pack', '-s', os.path.join(packdir, name)]).decode()
            for line in out.splitlines():
                if line.startswith('chain length = '):
                    depth = max(depth, int(line.split('=')[1].split(':')[0]))
    return depth


def timed(cmd, stdin_path):
    with open(stdin_path, 'rb') as fin, open(os.devnull, 'wb') as fout:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        t = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit('%s failed (%d): %s' % (' '.join(cmd), p.returncode, p.stderr.decode()[-2000:]))
    return t


def digest(cmd, stdin_path):
    h = hashlib.sha256()
    with open(stdin_path, 'rb') as fin:
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE)
        for chunk in iter(lambda: p.stdout.read(1 << 20), b''):
            h.update(chunk)
        p.wait()
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split('\n\n')[0][len('usage: '):])
    ap.add_argument('cache_dir')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD', 'build'))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--files', type=int, default=20000)
    ap.add_argument('--commits', type=int, default=100)
    args = ap.parse_args()

    ugtool = os.path.join(os.path.abspath(args.build), 'tests', 'ugtool')
    if not os.access(ugtool, os.X_OK):
        sys.exit('no ugtool at %s (give --build)' % ugtool)
    home = tempfile.mkdtemp(prefix='bench-home-')
    fixtures.isolate(home)
    cache = os.path.abspath(args.cache_dir)
    os.makedirs(cache, exist_ok=True)
    repo = os.path.join(cache, 'deep-%d-%d' % (args.files, args.commits))
    meta_path = repo + '.json'
    if not os.path.exists(meta_path):
        generate(repo, args.files, args.commits)
        ids = fixtures.run_git(['-C', repo, 'rev-list', '--objects', '--no-object-names', 'HEAD'])
        check = fixtures.run_git(['-C', repo, 'cat-file', '--batch-check'], input=ids).decode()
        blobs = [l.split(' ')[0] for l in check.splitlines() if l.split(' ')[1] == 'blob']
        with open(repo + '.blobs', 'w') as f:
            f.write(''.join(b + '\n' for b in blobs))
        meta = {'blobs': len(blobs), 'depth': delta_depth(repo)}
        with open(meta_path, 'w') as f:
            json.dump(meta, f)
    with open(meta_path) as f:
        meta = json.load(f)
    listing = repo + '.blobs'
    tools = [('git cat-file --batch', ['git', '-C', repo, 'cat-file', '--batch']),
             ('ugtool batch', [ugtool, repo, 'batch'])]

    print('repository: %s' % repo)
    print('files at HEAD: %d, blobs listed (all versions): %d, longest delta chain: %d'
          % (args.files, meta['blobs'], meta['depth']))
    same = digest(tools[0][1], listing) == digest(tools[1][1], listing)
    print('outputs identical: %s' % ('yes' if same else 'NO'))
    times = {name: [] for name, _ in tools}
    for name, cmd in tools:
        timed(cmd, listing)  # warm-up: page cache
    for _ in range(args.runs):
        for name, cmd in tools:
            times[name].append(timed(cmd, listing))
    print('%-22s %9s %9s %9s   (%d runs)' % ('', 'median s', 'min s', 'max s', args.runs))
    for name, _ in tools:
        t = times[name]
        print('%-22s %9.3f %9.3f %9.3f' % (name, statistics.median(t), min(t), max(t)))
    g = statistics.median(times[tools[0][0]])
    u = statistics.median(times[tools[1][0]])
    print('ratio ugtool/git: %.2f' % (u / g))
    shutil.rmtree(home, ignore_errors=True)
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
