#!/usr/bin/python3
# Benchmark: copying files into work/ and syncing, against cp into a checkout and git add + commit.
"""usage: bench_work.py CACHE_DIR [--build DIR] [--runs N] [--files N] [--size BYTES]

Makes --files files (default 5000) of about --size bytes (default 4096: 20 MB in all)
under CACHE_DIR, then --runs times (default 5), each time on a fresh repository of one
commit: `cp -r` of them into work/ of a fresh mount plus `ugitfs --sync`, against `cp -r`
into a checkout plus `git add -A && git commit`. Prints the medians and their ratio
(aim <= 2). Not a test: speed is noisy here.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import fixtures  # noqa: E402
import mounting  # noqa: E402


def make_files(root, count, size):
    rnd = random.Random(5000)
    words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split()
    for i in range(count):
        path = os.path.join(root, 'd%02d' % (i % 50), 'f%05d.txt' % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = []
        n = 0
        while n < size:
            line = ' '.join(rnd.choice(words) for _ in range(12)) + '\n'
            text.append(line)
            n += len(line)
        with open(path, 'w') as f:
            f.write(''.join(text))


def fresh_repo(path):
    shutil.rmtree(path, ignore_errors=True)
    r = fixtures.Repo(path)
    r.write('README', 'benchmark\n')
    r.commit('start')
    return r


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('cache')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD', 'build'))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--files', type=int, default=5000)
    ap.add_argument('--size', type=int, default=4096)
    args = ap.parse_args()
    cache = os.path.abspath(args.cache)
    ugitfs = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
    mounting.UGITFS = ugitfs
    fixtures.isolate(os.path.join(cache, 'home'))
    src = os.path.join(cache, 'work-src-%d-%d' % (args.files, args.size))
    if not os.path.isdir(src):
        make_files(src + '.tmp', args.files, args.size)
        os.rename(src + '.tmp', src)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs)
    print('%d files, %.1f MB' % (args.files, total / 1e6))
    ours, theirs = [], []
    for _ in range(args.runs):
        repo = os.path.join(cache, 'work-repo')
        fresh_repo(repo).git('branch', 'bench')  # main is checked out: work/ edits another branch
        with mounting.Mount(repo, ['branch=bench']) as mnt:
            t0 = time.perf_counter()
            subprocess.run(['cp', '-r', src, mnt.path('work', 'files')], check=True)
            subprocess.run([ugitfs, '--sync', mnt.mnt], check=True, stdout=subprocess.DEVNULL)
            ours.append(time.perf_counter() - t0)
        fresh_repo(repo)
        t0 = time.perf_counter()
        subprocess.run(['cp', '-r', src, os.path.join(repo, 'files')], check=True)
        subprocess.run(['git', '-C', repo, 'add', '-A'], check=True)
        subprocess.run(['git', '-C', repo, 'commit', '-qm', 'files'], check=True)
        theirs.append(time.perf_counter() - t0)
    m, g = statistics.median(ours), statistics.median(theirs)
    print('cp + ugitfs --sync:        %.3f s (median of %d)' % (m, args.runs))
    print('cp + git add + git commit: %.3f s' % g)
    print('ratio: %.2f' % (m / g))


if __name__ == '__main__':
    main()
