#!/usr/bin/python3
# Soak of work/: writers, an outside clone pushing, syncs and SIGKILLs of the daemon, checked against a model.
"""usage: soak.py [--duration S] [--kill-every S] [--build DIR] [--writers N] [--seed N]
                [--autosync S] [--quiet-every N] [--skip OP,...] [--show N] [--dir DIR] [--keep]

Mounts the real ugitfs on a bare repository (branch main, with -o autosync) and runs
for --duration seconds (default 300):

- --writers processes (default 3), each doing random operations in its own subtree
  work/wN/ (create, append, overwrite, truncate, unlink, mkdir, rmdir, renames of files
  and of folders holding committed subfolders, onto new and onto existing names,
  chmod +x/-x, symlink, fsync, read-back) and overwriting its own files in shared/,
  which the outside clone overwrites too; each keeps a model of what its paths must
  hold;
- an outside clone that commits and pushes to main (files under ext/, and the files in
  shared/), and merges any conflict branch ugitfs made back into main, taking the
  conflict branch's side for everything but ext/;
- `ugitfs --sync` every 1-4 s, besides the writers' fsyncs and the autosync;
- every --kill-every seconds (default 30) a SIGKILL of the daemon (half of the time
  while a `ugitfs --sync` runs), then a remount;
- half-way between kills, every --quiet-every (2) kills, a quiet check: writers and clone pause, the autosync must
  leave nothing pending, and the commit work/ is based on must hold the model.

After every remount, work/ is compared with the model: file bytes, the exec bit,
symlink targets, folders. An operation that was in flight at the kill may show its
state before or after it (each syscall of an operation is one step). A shared/ file
may show a value the outside clone pushed if the writer's value is in a commit.
It also checks that every commit the daemon logged as synced is in main's history
or a ugitfs/conflict/... branch, and `git fsck --strict` at each quiet check and at the end.
Exits 1 on any lost change, unreachable synced commit, fsck error, daemon crash or
sanitizer report, autosync miss, or work/ staying on a merged conflict branch.
"""

import argparse
import errno
import multiprocessing
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import common

DEAD = (errno.ENOTCONN, errno.ECONNABORTED)  # what a caller sees once the daemon is gone
MAX_FILE = 48 * 1024
CONTESTED = 3  # shared/wN-K.txt files per writer

# ---------------------------------------------------------------------------
# The model: relative path -> ('f', bytes, exec) | ('l', target) | ('d',)


def walk(root):
    """What a folder holds, as a model (the root itself is not an entry). Raises OSError."""
    out = {}
    stack = ['']
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as it:
            entries = list(it)
        for e in entries:
            r = os.path.join(rel, e.name) if rel else e.name
            st = os.lstat(e.path)
            if stat.S_ISDIR(st.st_mode):
                out[r] = ('d',)
                stack.append(r)
            elif stat.S_ISLNK(st.st_mode):
                out[r] = ('l', os.readlink(e.path))
            elif stat.S_ISREG(st.st_mode):
                with open(e.path, 'rb') as f:
                    out[r] = ('f', f.read(), bool(st.st_mode & 0o100))
            else:
                out[r] = ('?', st.st_mode)
    return out


def show(entry):
    if entry is None:
        return 'absent'
    if entry[0] == 'f':
        data = entry[1]
        return 'file%s %d bytes %s%s' % (' +x' if entry[2] else '', len(data), data[:40],
                                        '...' if len(data) > 40 else '')
    if entry[0] == 'l':
        return 'symlink -> %s' % entry[1]
    if entry[0] == 'd':
        return 'folder'
    return 'odd %o' % entry[1]


def diff(want, got, limit=8):
    """Lines saying how got differs from want."""
    lines = []
    for p in sorted(set(want) | set(got)):
        if want.get(p) != got.get(p):
            lines.append('  %s: want %s, got %s' % (p, show(want.get(p)), show(got.get(p))))
    if len(lines) > limit:
        lines = lines[:limit] + ['  ... %d more' % (len(lines) - limit)]
    return lines


def kind(when):
    """The kind of a mismatch found by the parent, from when it was found."""
    if when.startswith('remount'):
        return 'work/ differs from the model after a SIGKILL and remount'
    if when.startswith('quiet'):
        return 'work/ differs from the model at a quiet check (daemon alive)'
    return 'work/ differs from the model after a clean unmount and remount'


def under(path, top):
    return path == top or path.startswith(top + '/')


def move(model, src, dst):
    """The model after renaming src (and everything under it) to dst, replacing dst."""
    out = {k: v for k, v in model.items() if not under(k, dst)}
    for k, v in model.items():
        if under(k, src):
            del out[k]
    for k, v in model.items():
        if under(k, src):
            out[dst + k[len(src):]] = v
    return out


# ---------------------------------------------------------------------------
# A writer process


class Paused(Exception):
    pass


class Writer:
    def __init__(self, n, mnt, model, contested, seed, conn, skip=()):
        self.skip = set(skip)
        self.n = n
        self.root = os.path.join(mnt, 'work', 'w%d' % n)
        self.shared = os.path.join(mnt, 'work', 'shared')
        self.model = model
        self.contested = contested  # K -> bytes
        self.rnd = random.Random(seed)
        self.conn = conn
        self.seq = 0
        self.ops = {}
        self.errors = []      # unexpected errors while the daemon lived
        self.mismatches = []  # found by the writer itself (read-back, after an unexpected error)
        self.amb = None       # (alternative model, alternative contested, what) of a step in flight at a kill
        self.history = []

    # --- helpers
    def path(self, rel):
        return os.path.join(self.root, rel)

    def name(self, kind):
        self.seq += 1
        return '%s%d_%d' % (kind, self.n, self.seq)

    def content(self):
        size = self.rnd.choice((0, 1, 17, 100, 600, 2000, 4000, 7000))
        unit = b'w%d.%d ' % (self.n, self.seq)
        return (unit * (size // len(unit) + 1))[:size]

    def pick(self, kind, pred=None):
        c = [k for k, v in self.model.items() if v[0] in kind and (pred is None or pred(k, v))]
        return self.rnd.choice(c) if c else None

    def folder(self):
        c = [''] + [k for k, v in self.model.items() if v[0] == 'd' and k.count('/') < 4]
        return self.rnd.choice(c)

    def new_path(self, kind):
        d = self.folder()
        nm = self.name(kind)
        return os.path.join(d, nm) if d else nm

    def step(self, what, call, change, contested=None):
        """Run one syscall; on success apply change (model -> model) to the model. On a
        dead daemon, remember the state after it as the other possibility; on another
        error, check the subtree at once."""
        try:
            r = call()
        except OSError as e:
            after = change(dict(self.model))
            after_c = dict(self.contested)
            if contested:
                after_c[contested[0]] = contested[1]
            if e.errno in DEAD:
                self.amb = (after, after_c, what)
                raise Paused() from e
            self.unexpected(what, e, after, after_c)
            raise Paused() from e
        self.model = change(self.model)
        if contested:
            self.contested[contested[0]] = contested[1]
        return r

    def unexpected(self, what, e, after, after_c):
        self.errors.append('w%d %s: %s' % (self.n, what, e))
        try:
            got = walk(self.root)
        except OSError as e2:
            if e2.errno in DEAD:
                self.amb = (after, after_c, what)
                return
            self.errors.append('w%d walk after %s: %s' % (self.n, what, e2))
            return
        if got != self.model and got != after:
            self.mismatches.append(('an operation failed and lost entries', 'w%d after failed %s (%s):\n%s\n  recent: %s' % (
                self.n, what, e, '\n'.join(diff(self.model, got)), '; '.join(self.history[-6:]))))
        self.model = got

    # --- operations: each a list of steps
    def op_create(self):
        p = self.new_path('f')
        data = self.content()
        fd = self.step('create %s' % p, lambda: os.open(self.path(p), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
                       lambda m: {**m, p: ('f', b'', False)})
        try:
            self.step('write %s' % p, lambda: os.write(fd, data), lambda m: {**m, p: ('f', data, False)})
        finally:
            close(fd)

    def op_append(self):
        p = self.pick('f', lambda k, v: len(v[1]) < MAX_FILE)
        if p is None:
            return self.op_create()
        data = self.content()
        old = self.model[p]
        fd = self.step('open-append %s' % p, lambda: os.open(self.path(p), os.O_WRONLY | os.O_APPEND), lambda m: m)
        try:
            self.step('append %s' % p, lambda: os.write(fd, data), lambda m: {**m, p: ('f', old[1] + data, old[2])})
        finally:
            close(fd)

    def op_overwrite(self):
        p = self.pick('f')
        if p is None:
            return self.op_create()
        data = self.content()
        x = self.model[p][2]
        fd = self.step('open-trunc %s' % p, lambda: os.open(self.path(p), os.O_WRONLY | os.O_TRUNC),
                       lambda m: {**m, p: ('f', b'', x)})
        try:
            self.step('write %s' % p, lambda: os.write(fd, data), lambda m: {**m, p: ('f', data, x)})
        finally:
            close(fd)

    def op_truncate(self):
        p = self.pick('f')
        if p is None:
            return
        old = self.model[p]
        size = self.rnd.choice((0, len(old[1]) // 2, len(old[1]) + 100))
        data = old[1][:size] + b'\0' * (size - len(old[1]))
        self.step('truncate %s %d' % (p, size), lambda: os.truncate(self.path(p), size),
                  lambda m: {**m, p: ('f', data, old[2])})

    def op_unlink(self):
        p = self.pick('fl')
        if p is None:
            return
        self.step('unlink %s' % p, lambda: os.unlink(self.path(p)), lambda m: {k: v for k, v in m.items() if k != p})

    def op_mkdir(self):
        if sum(1 for v in self.model.values() if v[0] == 'd') > 40:
            return self.op_rmdir()
        p = self.new_path('d')
        self.step('mkdir %s' % p, lambda: os.mkdir(self.path(p)), lambda m: {**m, p: ('d',)})

    def empty_folders(self):
        full = {os.path.dirname(k) for k in self.model}
        return [k for k, v in self.model.items() if v[0] == 'd' and k not in full]

    def op_rmdir(self):
        c = self.empty_folders()
        if not c:
            return
        p = self.rnd.choice(c)
        self.step('rmdir %s' % p, lambda: os.rmdir(self.path(p)), lambda m: {k: v for k, v in m.items() if k != p})

    def op_rename_file(self):
        src = self.pick('fl')
        if src is None:
            return
        other = self.pick('fl', lambda k, v: k != src)
        dst = other if other and self.rnd.random() < 0.3 else self.new_path('r')
        self.step('rename %s %s' % (src, dst), lambda: os.rename(self.path(src), self.path(dst)),
                  lambda m: move(m, src, dst))

    def op_rename_folder(self):
        src = self.pick('d')
        if src is None:
            return
        empty = [e for e in self.empty_folders() if not under(e, src) and not under(src, e)]
        if empty and self.rnd.random() < 0.3:
            dst = self.rnd.choice(empty)
        else:
            c = [''] + [k for k, v in self.model.items() if v[0] == 'd' and not under(k, src) and k.count('/') < 3]
            d = self.rnd.choice(c)
            nm = self.name('m')
            dst = os.path.join(d, nm) if d else nm
        n = sum(1 for k in self.model if under(k, src))
        what = 'rename-folder %s %s (%d entries)' % (src, dst, n)
        self.step(what, lambda: os.rename(self.path(src), self.path(dst)), lambda m: move(m, src, dst))
        # A rename that returns 0 must have moved everything: look at once, to name the culprit.
        got = self.step('walk after ' + what, lambda: walk(self.path(dst)), lambda m: m)
        want = {k[len(dst) + 1:]: v for k, v in self.model.items() if k.startswith(dst + '/')}
        gone = os.path.lexists(self.path(src))
        if got != want or gone:
            self.mismatches.append(('a folder rename returned 0 but lost entries', 'w%d %s returned 0, but%s:\n%s\n  recent: %s' % (
                self.n, what, ' the source is still there,' if gone else '',
                '\n'.join(diff({dst + '/' + k: v for k, v in want.items()}, {dst + '/' + k: v for k, v in got.items()})),
                '; '.join(self.history[-6:]))))
            self.model = {k: v for k, v in self.model.items() if not k.startswith(dst + '/')}
            self.model.update({dst + '/' + k: v for k, v in got.items()})

    def op_chmod(self):
        p = self.pick('f')
        if p is None:
            return
        old = self.model[p]
        x = not old[2]
        self.step('chmod %s %s' % ('+x' if x else '-x', p), lambda: os.chmod(self.path(p), 0o755 if x else 0o644),
                  lambda m: {**m, p: ('f', old[1], x)})

    def op_symlink(self):
        p = self.new_path('s')
        target = self.rnd.choice(('../x', 'target%d' % self.seq, 'a/b/c', '/etc/hostname'))
        self.step('symlink %s' % p, lambda: os.symlink(target, self.path(p)), lambda m: {**m, p: ('l', target)})

    def op_fsync(self):
        p = self.pick('f')
        if p is None:
            return
        fd = self.step('open %s' % p, lambda: os.open(self.path(p), os.O_RDONLY), lambda m: m)
        try:
            self.step('fsync %s' % p, lambda: os.fsync(fd), lambda m: m)
        finally:
            close(fd)

    def op_read(self):
        p = self.pick('fl')
        if p is None:
            return
        want = self.model[p]

        def look():
            st = os.lstat(self.path(p))
            if want[0] == 'l':
                return ('l', os.readlink(self.path(p))) if stat.S_ISLNK(st.st_mode) else ('?', st.st_mode)
            with open(self.path(p), 'rb') as f:
                return ('f', f.read(), bool(st.st_mode & 0o100))
        got = self.step('read %s' % p, look, lambda m: m)
        if got != want:
            self.mismatches.append(('read-back differs (daemon alive)', 'w%d read-back of %s: want %s, got %s\n  recent: %s' % (
                self.n, p, show(want), show(got), '; '.join(self.history[-6:]))))
            self.model[p] = got

    def op_contested(self):
        k = self.rnd.randrange(CONTESTED)
        p = os.path.join(self.shared, 'w%d-%d.txt' % (self.n, k))
        data = b'writer %d seq %d\n' % (self.n, self.seq)
        self.seq += 1
        fd = self.step('open-trunc shared/w%d-%d.txt' % (self.n, k), lambda: os.open(p, os.O_WRONLY | os.O_TRUNC),
                       lambda m: m, contested=(k, b''))
        try:
            self.step('write shared/w%d-%d.txt' % (self.n, k), lambda: os.write(fd, data), lambda m: m,
                      contested=(k, data))
        finally:
            close(fd)

    OPS = (('create', 14), ('append', 14), ('overwrite', 9), ('truncate', 5), ('unlink', 9), ('mkdir', 8),
           ('rmdir', 5), ('rename_file', 9), ('rename_folder', 7), ('chmod', 6), ('symlink', 5), ('fsync', 1),
           ('read', 6), ('contested', 3))

    def choose(self):
        files = sum(1 for v in self.model.values() if v[0] != 'd')
        names = [n for n, _ in self.OPS]
        weights = [0 if n in self.skip else w for n, w in self.OPS]
        if files > 120:  # keep the tree at a size where renames of folders copy something
            weights[names.index('create')] = 2
            weights[names.index('symlink')] = 1
        return self.rnd.choices(names, weights)[0]

    # --- the loop
    def report(self):
        r = {'model': self.model, 'contested': self.contested, 'amb': self.amb, 'ops': self.ops,
             'errors': self.errors, 'mismatches': self.mismatches, 'history': self.history[-8:]}
        self.errors, self.mismatches = [], []
        return r

    def wait_parent(self):
        """Paused: report, then take the state the parent found and go on (False: stop)."""
        while True:
            msg = self.conn.recv()
            if msg[0] == 'pause':
                self.conn.send(self.report())
            elif msg[0] == 'resume':
                self.model, self.contested = msg[1], msg[2]
                self.amb = None
                return True
            elif msg[0] == 'stop':
                self.conn.send(self.report())
                return False

    def run(self):
        if not self.wait_parent():
            return
        while True:
            if self.conn.poll():
                if not self.wait_parent():
                    return
                continue
            op = self.choose()
            self.ops[op] = self.ops.get(op, 0) + 1
            self.history.append(op)
            del self.history[:-20]
            try:
                getattr(self, 'op_' + op)()
            except Paused:
                if self.amb is not None:  # the daemon is gone: wait for the remount
                    self.history[-1] += ' (in flight: %s)' % self.amb[2]
                    if not self.wait_parent():
                        return


def close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def writer_main(n, mnt, model, contested, seed, conn, skip):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        Writer(n, mnt, model, contested, seed, conn, skip).run()
    except Exception:
        conn.send({'crash': traceback.format_exc()})


# ---------------------------------------------------------------------------
# The outside clone


class Outside(threading.Thread):
    """A clone of the bare repository that commits and pushes to main, and merges
    the conflict branches ugitfs makes back into main."""

    def __init__(self, bare, path, writers, seed):
        super().__init__(daemon=True)
        self.bare = bare
        self.path = path
        self.writers = writers
        self.rnd = random.Random(seed)
        self.stop = threading.Event()
        self.go = threading.Event()
        self.busy = threading.Lock()
        self.values = {}  # shared/ path -> set of bytes the clone pushed there
        self.pushes = self.rejected = self.merges = 0
        self.failures = []
        self.reject_why = []
        self.seq = 0
        common.git(os.path.dirname(path), 'clone', '-q', bare, path)

    def g(self, *args, check=True, input=None):
        return common.git(self.path, *args, check=check, input=input)

    def run(self):
        while not self.stop.is_set():
            with self.busy:
                if self.go.is_set():
                    try:
                        self.once()
                    except Exception as e:  # noqa: BLE001 (a failure of git here is reported, not fatal)
                        self.failures.append(str(e)[:300])
            self.stop.wait(self.rnd.uniform(0.3, 1.5))

    def pause(self):
        """Returns once no commit or push is under way, and none will start until resume()."""
        self.go.clear()
        with self.busy:
            pass

    def resume(self):
        self.go.set()

    def once(self):
        self.g('fetch', '-q', '--prune', 'origin')
        self.g('reset', '-q', '--hard', 'origin/main')
        self.g('clean', '-qfdx')
        if self.merge_conflict():
            return
        self.seq += 1
        ext = ['ext/e%d.txt' % self.rnd.randrange(8) for _ in range(self.rnd.randint(1, 3))]
        shared = None
        if self.rnd.random() < 0.4:
            shared = 'shared/w%d-%d.txt' % (self.rnd.randrange(self.writers), self.rnd.randrange(CONTESTED))
        # The branch moves often (every sync): on a rejected push, do the change again on the new tip.
        for attempt in range(20):
            if attempt:
                self.g('fetch', '-q', 'origin')
                self.g('reset', '-q', '--hard', 'origin/main')
            for rel in ext:
                with open(os.path.join(self.path, rel), 'a') as f:
                    f.write('outside %d\n' % self.seq)
            if shared:
                data = b'outside %d\n' % self.seq
                self.values.setdefault(shared, set()).add(data)
                with open(os.path.join(self.path, shared), 'wb') as f:
                    f.write(data)
            self.g('commit', '-q', '-a', '--allow-empty', '-m', 'outside %d' % self.seq)
            if self.push('HEAD'):
                return

    def push(self, rev):
        p = subprocess.run(['git', '-C', self.path, 'push', '-q', 'origin', rev + ':refs/heads/main'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode == 0:
            self.pushes += 1
            return True
        else:
            self.rejected += 1
            if len(self.reject_why) < 5:
                why = [l for l in p.stderr.decode(errors='replace').splitlines() if 'rejected' in l or 'error' in l]
                self.reject_why.append((why or ['?'])[0][:200])
        return False

    def merge_conflict(self):
        """Merge the newest conflict branch main does not contain: its tree, with main's ext/."""
        refs = self.g('for-each-ref', '--format=%(refname)', 'refs/remotes/origin/ugitfs/conflict/').decode().split()
        todo = [r for r in refs if subprocess.run(['git', '-C', self.path, 'merge-base', '--is-ancestor', r,
                                                   'origin/main']).returncode == 1]
        if not todo:
            return False
        ref = sorted(todo)[-1]
        ext = self.g('rev-parse', 'origin/main:ext').decode().strip()
        lines = [l if not l.endswith('\text') else '040000 tree %s\text' % ext
                 for l in self.g('ls-tree', ref).decode().splitlines()]
        tree = self.g('mktree', input=('\n'.join(lines) + '\n').encode()).decode().strip()
        commit = self.g('commit-tree', tree, '-p', 'origin/main', '-p', ref, '-m',
                        'merge %s' % ref.split('/', 3)[3]).decode().strip()
        if self.push(commit):
            self.merges += 1
        return True


# ---------------------------------------------------------------------------
# The run


class Soak:
    def __init__(self, args):
        self.args = args
        self.rnd = random.Random(args.seed)
        self.ugitfs = os.path.join(os.path.abspath(args.build), 'mount-tools', 'ugitfs')
        self.dir = args.dir or tempfile.mkdtemp(prefix='ugitfs-soak-')
        os.makedirs(self.dir, exist_ok=True)
        common.fixtures.isolate(os.path.join(self.dir, 'home'))
        self.bare = os.path.join(self.dir, 'repo.git')
        self.mnt = os.path.join(self.dir, 'mnt')
        os.makedirs(self.mnt, exist_ok=True)
        self.daemon = None
        self.outputs = []  # daemon logs of finished mounts
        self.synced = set()  # commits the daemon or ugitfs --sync said it made
        self.sync_runs = self.sync_fail = 0
        self.remounts = 0
        self.kills = self.kills_in_sync = 0
        self.mismatches = []
        self.errors = []
        self.fsck_errors = []
        self.unreachable = []
        self.crashes = []
        self.autosync_misses = 0
        self.quiet_checks = 0
        self.came_back = 0
        self.stuck = []
        self.conflict_branches = set()
        self.ops = {}
        self.lock = threading.Lock()

    def log(self, msg):
        print('[%6.1f] %s' % (time.monotonic() - self.t0, msg), flush=True)

    # --- setup
    def make_repo(self):
        src = os.path.join(self.dir, 'seed')
        common.git(self.dir, 'init', '-q', '-b', 'main', src)
        files = {}
        for n in range(self.args.writers):
            w = 'w%d/' % n
            for rel, data in (('top/sub/x', b'x\n'), ('top/sub/z', b'z\n'), ('top/y', b'y\n'),
                              ('a/b/c/deep', b'deep\n'), ('a/b/two', b'two\n'), ('a/one', b'one\n'),
                              ('a/run.sh', b'#!/bin/sh\n'), ('flat', b'flat\n')):
                files[w + rel] = data
            for k in range(CONTESTED):
                files['shared/w%d-%d.txt' % (n, k)] = b'start\n'
        for k in range(8):
            files['ext/e%d.txt' % k] = b'ext start\n'
        for rel, data in files.items():
            p = os.path.join(src, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'wb') as f:
                f.write(data)
            if rel.endswith('run.sh'):
                os.chmod(p, 0o755)
        for n in range(self.args.writers):
            os.symlink('one', os.path.join(src, 'w%d' % n, 'a', 'link'))
        common.git(src, 'add', '-A')
        common.git(src, 'commit', '-q', '-m', 'start')
        common.git(self.dir, 'clone', '-q', '--bare', src, self.bare)
        shutil.rmtree(src)

    def initial_models(self):
        tree = os.path.join(self.dir, 'init-tree')
        common.git(self.dir, 'clone', '-q', self.bare, tree)
        models = [walk(os.path.join(tree, 'w%d' % n)) for n in range(self.args.writers)]
        shared = [{k: b'start\n' for k in range(CONTESTED)} for _ in range(self.args.writers)]
        shutil.rmtree(tree)
        return models, shared

    # --- the daemon
    def mount(self):
        opts = ['branch=main']
        if self.args.autosync:
            opts.append('autosync=%d' % self.args.autosync)
        self.daemon = common.Daemon(self.ugitfs, self.bare, self.mnt, opts, self.dir)

    def retire(self):
        out = self.daemon.output()
        self.outputs.append(out)
        self.daemon.close()
        for m in re.finditer(r'sync: committed ([0-9a-f]{40}) on (\S+)', out):
            self.synced.add(m.group(1))
            if m.group(2).startswith('ugitfs/conflict/'):
                self.conflict_branches.add(m.group(2))
        bad = [b for b in common.BAD_OUTPUT if b in out]
        if bad:
            self.crashes.append('daemon output shows %s:\n%s' % (bad, out[-3000:]))
        os.unlink(self.daemon.log_path)
        self.daemon = None

    def kill(self):
        """SIGKILL, half of the time while a sync runs."""
        syncer = None
        if self.rnd.random() < 0.5:
            syncer = subprocess.Popen([self.ugitfs, '--sync', self.mnt], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(self.rnd.uniform(0, 0.3))
            self.kills_in_sync += 1
        if not self.daemon.alive():
            self.crashes.append('daemon died by itself (status %s):\n%s' % (self.daemon.proc.returncode,
                                                                          self.daemon.output()[-3000:]))
        else:
            self.kills += 1
        self.daemon.kill()
        if syncer:
            syncer.wait()

    # --- syncs from outside the writers
    def syncer(self, stop):
        rnd = random.Random(self.args.seed + 7)
        while not stop.wait(rnd.uniform(1, 4)):
            if self.paused.is_set():
                continue
            rc, out, err = common.ugitfs_cmd(self.ugitfs, '--sync', self.mnt)
            with self.lock:
                self.sync_runs += 1
                if rc == 0 and re.fullmatch(r'[0-9a-f]{40}\n', out):
                    self.synced.add(out.strip())
                elif rc != 0:
                    self.sync_fail += 1

    # --- writers
    def pause_writers(self, pipes):
        for c in pipes:
            c.send(('pause',))
        reports = []
        for n, c in enumerate(pipes):
            if not c.poll(120):
                raise RuntimeError('writer %d does not answer' % n)
            r = c.recv()
            if 'crash' in r:
                raise RuntimeError('writer %d crashed:\n%s' % (n, r['crash']))
            reports.append(r)
            for op, k in r['ops'].items():
                self.ops[op] = self.ops.get(op, 0) + k - self.last_ops[n].get(op, 0)
            self.last_ops[n] = dict(r['ops'])
            self.errors += r['errors']
            self.mismatches += r['mismatches']
        return reports

    # --- checks
    def history_blobs(self, rel):
        """Blob ids a path held in any commit of any ref."""
        out = common.git(self.bare, 'log', '--all', '-m', '--root', '--raw', '--no-abbrev', '--format=', '--', rel)
        ids = set()
        for line in out.decode().splitlines():
            f = line.split()
            if len(f) >= 4:
                ids.add(f[3])
        return ids

    def check(self, reports, when):
        """work/ against each writer's model; returns the states to resume with."""
        work = os.path.join(self.mnt, 'work')
        resumed = []
        for n, r in enumerate(reports):
            alts = [r['model']] + ([r['amb'][0]] if r['amb'] else [])
            try:
                got = walk(os.path.join(work, 'w%d' % n))
            except OSError as e:
                self.errors.append('%s: walk of w%d: %s' % (when, n, e))
                resumed.append((r['model'], r['contested']))
                continue
            if got not in alts:
                self.mismatches.append((kind(when), '%s: w%d differs from the model%s:\n%s\n  recent ops: %s' % (
                    when, n, ' (in flight: %s)' % r['amb'][2] if r['amb'] else '',
                    '\n'.join(min((diff(a, got, 10**6) for a in alts), key=len)[:10]), '; '.join(r['history']))))
            shared = self.check_shared(n, r, when)
            resumed.append((got, shared))
        try:
            top = sorted(os.listdir(work))
            want = sorted(['ext', 'shared'] + ['w%d' % n for n in range(len(reports))])
            if top != want:
                self.mismatches.append((kind(when), '%s: work/ holds %s, want %s' % (when, top, want)))
        except OSError as e:
            self.errors.append('%s: listing work/: %s' % (when, e))
        return resumed

    def check_shared(self, n, r, when):
        out = {}
        for k in range(CONTESTED):
            rel = 'shared/w%d-%d.txt' % (n, k)
            try:
                with open(os.path.join(self.mnt, 'work', rel), 'rb') as f:
                    got = f.read()
            except OSError as e:
                self.mismatches.append((kind(when), '%s: %s: %s' % (when, rel, e)))
                out[k] = r['contested'][k]
                continue
            want = [r['contested'][k]] + ([r['amb'][1][k]] if r['amb'] else [])
            if got not in want:
                pushed = got in self.outside.values.get(rel, ())
                if not pushed or common.blob_id(want[0]) not in self.history_blobs(rel):
                    self.mismatches.append((kind(when), '%s: %s holds %r, want %r%s' % (
                        when, rel, got, want, ' (an outside value, but the writer\'s is in no commit)'
                        if pushed else '')))
            out[k] = got
        return out

    def check_repo(self, when, fsck=False):
        """Synced commits are in a branch; with fsck (only when nothing writes: git's fsck reads
        reflogs and objects at different moments), `git fsck --strict`."""
        refs = common.git(self.bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/').decode().split()
        for r in refs:
            if r.startswith('refs/heads/ugitfs/conflict/'):
                self.conflict_branches.add(r[len('refs/heads/'):])
        reach = set(common.git(self.bare, 'rev-list', *refs).decode().split())
        for c in sorted(self.synced - reach):
            self.unreachable.append('%s: synced commit %s is in no branch' % (when, c))
        self.synced &= reach  # report each once
        self.synced_total = getattr(self, 'synced_total', set()) | self.synced
        if not fsck:
            return
        p = subprocess.run(['git', '-C', self.bare, 'fsck', '--strict', '--no-dangling', '--no-progress'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode:
            self.fsck_errors.append('%s: git fsck --strict: exit %d: %s' % (
                when, p.returncode, p.stdout.decode(errors='replace')[-1500:]))

    def quiet_check(self, pipes):
        """Writers and clone pause; nothing may stay pending; the commit work/ is on holds the model."""
        if not self.daemon.alive():
            self.crashes.append('daemon died by itself (status %s):\n%s' % (self.daemon.proc.returncode,
                                                                          self.daemon.output()[-3000:]))
            self.kill_and_remount(pipes)
        self.paused.set()
        self.outside.pause()
        reports = self.pause_writers(pipes)
        when = 'quiet check %d' % (self.quiet_checks + 1)
        resumed = self.check(reports, when)
        self.quiet_checks += 1
        limit = (self.args.autosync or 0) + 15
        deadline = time.monotonic() + limit
        status = None
        while time.monotonic() < deadline:
            rc, out, err = common.ugitfs_cmd(self.ugitfs, '--status', self.mnt)
            if rc == 0 and not [l for l in out.splitlines() if not l.startswith('##')]:
                status = out
                break
            if not self.args.autosync:
                common.ugitfs_cmd(self.ugitfs, '--sync', self.mnt)
            time.sleep(0.2)
        if status is None:
            self.autosync_misses += 1
            self.log('%s: still pending %d s after the last write: %s' % (when, limit, out.strip()[:300]))
            rc, out, err = common.ugitfs_cmd(self.ugitfs, '--sync', self.mnt)
            rc, status, err = common.ugitfs_cmd(self.ugitfs, '--status', self.mnt)
        ref = 'main'
        if status.startswith('## '):
            ref = status.split()[1]
        self.check_commit(ref, resumed, when)
        self.check_repo(when, fsck=True)
        if ref != 'main':
            self.come_back(when)
        for c, (model, shared) in zip(pipes, resumed):
            c.send(('resume', model, shared))
        self.outside.resume()
        self.paused.clear()

    def come_back(self, when):
        """On a conflict branch with nothing pending: once the clone merged it into main,
        work/ must follow main again (else later outside commits never reach work/)."""
        try:
            with self.outside.busy:
                self.outside.g('fetch', '-q', 'origin')
                self.outside.merge_conflict()
        except Exception as e:  # noqa: BLE001
            self.outside.failures.append(str(e)[:300])
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rc, out, err = common.ugitfs_cmd(self.ugitfs, '--status', self.mnt)
            if rc == 0 and not out.startswith('##'):
                self.came_back += 1
                return
            time.sleep(0.2)
        self.stuck.append('%s: work/ stays on %s 10 s after main merged it, nothing pending' % (when, out.strip()[:120]))

    def check_commit(self, ref, resumed, when):
        """The tree of ref holds each writer's files as the model says (empty folders are not committed)."""
        out = common.git(self.bare, 'ls-tree', '-r', '-z', '--full-tree', ref).decode('utf-8', 'surrogateescape')
        tree = {}
        for item in out.split('\0'):
            if item:
                meta, path = item.split('\t', 1)
                mode, _, oid = meta.split()
                tree[path] = (mode, oid)
        for n, (model, shared) in enumerate(resumed):
            want = {}
            for k, v in model.items():
                if v[0] == 'f':
                    want['w%d/%s' % (n, k)] = ('100755' if v[2] else '100644', common.blob_id(v[1]))
                elif v[0] == 'l':
                    want['w%d/%s' % (n, k)] = ('120000', common.blob_id(os.fsencode(v[1])))
            for k, data in shared.items():
                want['shared/w%d-%d.txt' % (n, k)] = ('100644', common.blob_id(data))
            have = {p: v for p, v in tree.items() if p.startswith('w%d/' % n) or p.startswith('shared/w%d-' % n)}
            if have != want:
                lines = ['  %s: want %s, committed %s' % (p, want.get(p), have.get(p))
                         for p in sorted(set(want) | set(have)) if want.get(p) != have.get(p)]
                self.mismatches.append(('committed tree differs from work/ with nothing pending', '%s: %s holds for w%d:\n%s' % (when, ref, n, '\n'.join(lines[:8]))))

    # --- main loop
    def run(self):
        self.t0 = time.monotonic()
        self.make_repo()
        models, shared = self.initial_models()
        self.outside = Outside(self.bare, os.path.join(self.dir, 'clone'), self.args.writers, self.args.seed + 1)
        self.paused = threading.Event()
        self.last_ops = [{} for _ in range(self.args.writers)]
        ctx = multiprocessing.get_context('fork')
        pipes, procs = [], []
        for n in range(self.args.writers):
            a, b = ctx.Pipe()
            p = ctx.Process(target=writer_main, args=(n, self.mnt, models[n], shared[n],
                                                      self.args.seed * 100 + n, b, self.args.skip))
            p.start()
            pipes.append(a)
            procs.append(p)
        stop = threading.Event()
        syncer = threading.Thread(target=self.syncer, args=(stop,), daemon=True)
        end = self.t0 + self.args.duration
        try:
            self.mount()
            for c, m, s in zip(pipes, models, shared):
                c.send(('resume', m, s))
            self.outside.start()
            self.outside.resume()
            syncer.start()
            self.log('running for %d s, a kill every %d s' % (self.args.duration, self.args.kill_every))
            cycle = 0
            while True:
                # kill_every seconds of writing between kills: the checks' own time is not counted
                cycle += 1
                now = time.monotonic()
                half = min(self.args.kill_every / 2, max(0, end - now) / 2)
                common.deadline_sleep(now + half)
                if cycle % self.args.quiet_every == 0 or now + 2 * half >= end:
                    t = time.monotonic()
                    self.quiet_check(pipes)
                    self.log('quiet check %d took %.1f s' % (self.quiet_checks, time.monotonic() - t))
                common.deadline_sleep(time.monotonic() + half)
                if time.monotonic() >= end:
                    break
                self.kill_and_remount(pipes)
            self.finish(pipes)
        finally:
            stop.set()
            self.outside.stop.set()
            for c in pipes:
                try:
                    c.send(('stop',))
                except OSError:
                    pass
            if self.daemon:
                self.daemon.kill()
                self.retire()
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.kill()
        return self.summary()

    def kill_and_remount(self, pipes):
        self.paused.set()
        self.kill()
        reports = self.pause_writers(pipes)
        self.retire()
        self.mount()
        self.remounts += 1
        when = 'remount %d' % self.remounts
        resumed = self.check(reports, when)
        self.check_repo(when)
        self.log('%s: %d operations so far, %d mismatches, %d errors' % (
            when, sum(self.ops.values()), len(self.mismatches), len(self.errors)))
        for c, (model, sh) in zip(pipes, resumed):
            c.send(('resume', model, sh))
        self.paused.clear()

    def finish(self, pipes):
        """Stop everything, unmount cleanly (the sync at unmount), remount, check work/ and the commit."""
        self.paused.set()
        self.outside.pause()
        reports = self.pause_writers(pipes)
        status = self.daemon.stop()
        if status != 0:
            self.crashes.append('daemon exited %s at unmount' % status)
        self.retire()
        self.mount()
        self.remounts += 1
        resumed = self.check(reports, 'final remount')
        rc, status, err = common.ugitfs_cmd(self.ugitfs, '--status', self.mnt)
        pending = [l for l in status.splitlines() if not l.startswith('##')]
        if pending:
            self.mismatches.append(('pending after a clean unmount', 'final remount: pending after a clean unmount: %s' % pending[:5]))
        ref = status.split()[1] if status.startswith('## ') else 'main'
        self.check_commit(ref, resumed, 'final commit (%s)' % ref)
        self.daemon.stop()
        self.retire()
        self.check_repo('final', fsck=True)

    def summary(self):
        ops = sum(self.ops.values())
        el = time.monotonic() - self.t0
        print()
        print('== soak summary ==')
        print('duration %.0f s, writers %d, kill every %d s, autosync %s' % (
            el, self.args.writers, self.args.kill_every, self.args.autosync))
        print('operations: %d (%s)' % (ops, ', '.join('%s %d' % kv for kv in sorted(self.ops.items()))))
        print('kills: %d (%d during a ugitfs --sync), remounts: %d, quiet checks: %d' % (
            self.kills, self.kills_in_sync, self.remounts, self.quiet_checks))
        print('syncs: ugitfs --sync run %d (%d failed, most while the daemon was dead), commits synced %d' % (
            self.sync_runs, self.sync_fail, len(getattr(self, 'synced_total', set()))))
        print('outside clone: %d pushes, %d rejected, %d conflict merges; conflict branches %d' % (
            self.outside.pushes, self.outside.rejected, self.outside.merges, len(self.conflict_branches)))
        print('work/ back on main after its conflict branch was merged: %d times, stuck %d' % (
            self.came_back, len(self.stuck)))
        for m in self.stuck[:3]:
            print('  ' + m)
        print('unexpected operation errors: %d' % len(self.errors))
        for e in self.errors[:15]:
            print('  ' + e)
        print('autosync misses (pending %d s after the last write): %d' % ((self.args.autosync or 0) + 15,
                                                                           self.autosync_misses))
        print('mismatches (lost or wrong changes): %d' % len(self.mismatches))
        kinds = {}
        for k, m in self.mismatches:
            kinds.setdefault(k, []).append(m)
        for k, ms in sorted(kinds.items()):
            print('  %d: %s; first ones:' % (len(ms), k))
            for m in ms[:self.args.show]:
                print('    ' + m.replace('\n', '\n    '))
        print('synced commits in no branch: %d' % len(self.unreachable))
        for m in self.unreachable[:10]:
            print('  ' + m)
        print('fsck errors: %d' % len(self.fsck_errors))
        for m in self.fsck_errors[:5]:
            print('  ' + m)
        print('daemon crashes or sanitizer reports: %d' % len(self.crashes))
        for m in self.crashes[:5]:
            print('  ' + m)
        if self.outside.reject_why:
            print('outside clone: first rejections: %s' % ' | '.join(self.outside.reject_why))
        if self.outside.failures:
            print('outside clone failures: %d, first: %s' % (len(self.outside.failures), self.outside.failures[0]))
        bad = (self.mismatches or self.unreachable or self.fsck_errors or self.crashes or self.stuck
               or self.autosync_misses)
        print('RESULT: %s' % ('FAIL' if bad else 'PASS'))
        if not self.args.keep and not bad:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print('kept: %s' % self.dir)
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument('--duration', type=float, default=300)
    ap.add_argument('--kill-every', type=float, default=30)
    ap.add_argument('--build', default=os.environ.get('UGITFS_BUILD',
                                                      os.path.join(common.HERE, '..', '..', 'build')))
    ap.add_argument('--writers', type=int, default=3)
    ap.add_argument('--quiet-every', type=int, default=2, help='a quiet check in every Nth interval between kills')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--autosync', type=int, default=2, help='seconds; 0 for none')
    ap.add_argument('--dir', help='where the repository and mount point go (default: a new temporary folder)')
    ap.add_argument('--keep', action='store_true', help='keep that folder')
    ap.add_argument('--show', type=int, default=3, help='mismatches printed per kind')
    ap.add_argument('--skip', type=lambda v: [x for x in v.split(',') if x], default=[],
                    help='operations the writers leave out, comma-separated (e.g. rename_folder)')
    args = ap.parse_args()
    sys.exit(Soak(args).run())


if __name__ == '__main__':
    main()
