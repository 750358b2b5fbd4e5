#!/usr/bin/python3
# Benchmark: the first read of a snapshot of a fresh partial clone, against git checking out the same commit.
"""usage: bench_partial.py CACHE_DIR [--build DIR] [--runs N] [--files N] [--commits N]

Generates (once, under CACHE_DIR; the generator of bench_core.py) a server repository
of --files files (default 3000) and --commits commits (default 20), then measures the
median of --runs runs (default 5), each on fresh `git clone --filter=blob:none` clones
over file://:

  tar of a snapshot (first read)  vs  git checkout of the same commit   (aim <= 1.0, must <= 2.0)

and how many fetches each side asked of the server (an uploadpack.packObjectsHook
counts them). Not a test: speed is noisy here.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, HERE)
import bench_core  # noqa: E402  (the repository generator)
from bench_mount import timed  # noqa: E402
import fixtures  # noqa: E402
import mounting  # noqa: E402


def count(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return len(f.read().splitlines())


def setup_hook(cache):
    """A global config that counts the server's pack-objects runs; returns (env, log)."""
    log = os.path.join(cache, 'fetches.log')
    hook = os.path.join(cache, 'hook.sh')
    with open(hook, 'w') as f:
        f.write('#!/bin/sh\necho "$$" >> "%s"\nexec "$@"\n' % log)
    os.chmod(hook, 0o755)
    with open(os.path.join(os.environ['HOME'], '.gitconfig')) as f:
        base = f.read()
    glob = os.path.join(cache, 'global.gitconfig')
    with open(glob, 'w') as f:
        f.write(base + '[uploadpack]\n\tpackObjectsHook = %s\n' % hook)
    return dict(os.environ, GIT_CONFIG_GLOBAL=glob), log


def fresh_clone(server, dest, bare):
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(['git', 'clone', '-q', '--filter=blob:none', '--no-checkout'] + (['--bare'] if bare else []) +
                   ['file://' + server, dest], check=True)


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('cache')
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD', 'build'))
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--files', type=int, default=3000)
    ap.add_argument('--commits', type=int, default=20)
    args = ap.parse_args()
    mounting.UGITFS = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
    cache = os.path.abspath(args.cache)
    os.makedirs(cache, exist_ok=True)
    fixtures.isolate(os.path.join(cache, 'home'))
    server = os.path.join(cache, 'partial-%d-%d' % (args.files, args.commits))
    if not os.path.isdir(server):
        bench_core.generate(server, args.files, args.commits)
        for key in ('uploadpack.allowFilter', 'uploadpack.allowAnySHA1InWant'):
            subprocess.run(['git', '-C', server, 'config', key, 'true'], check=True)
    head = subprocess.run(['git', '-C', server, 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()
    env, log = setup_hook(cache)
    print('server: %d files; fresh blob:none clones over file://' % args.files)
    mine, base, nmine, nbase = [], [], [], []
    for _ in range(args.runs):
        clone = os.path.join(cache, 'clone-ugitfs')
        fresh_clone(server, clone, True)
        with mounting.Mount(clone, ['ro'], env=env) as mnt:
            n0 = count(log)
            mine.append(timed('tar -cf - -C %s . | cat > /dev/null' % mnt.path('commits', head)))
            nmine.append(count(log) - n0)
        clone = os.path.join(cache, 'clone-git')
        fresh_clone(server, clone, False)
        n0 = count(log)
        base.append(timed('git -C %s checkout -q -f %s' % (clone, head), env=env))
        nbase.append(count(log) - n0)
        files = int(subprocess.run('find %s -path %s/.git -prune -o -type f -print | wc -l' % (clone, clone),
                                   shell=True, capture_output=True, text=True).stdout)
        assert files == args.files, 'git checkout wrote %d files' % files
    m, b = statistics.median(mine), statistics.median(base)
    print('%-34s %10s %10s %7s' % ('', 'ugitfs s', 'git s', 'ratio'))
    print('%-34s %10.3f %10.3f %7.2f' % ('first tar vs git checkout', m, b, m / b))
    print('fetches per run: ugitfs %s, git %s' % (nmine, nbase))


if __name__ == '__main__':
    main()
