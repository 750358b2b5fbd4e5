"""What a mount can be trusted with: other users, checked-out branches, shallow clones, packed-refs
peeling, the git config environment, and signals."""

import contextlib
import json
import os
import signal
import subprocess
import tempfile

import pytest

import fixtures
from mounting import BAD_OUTPUT, UGITFS, Mount, is_mounted, run_ugitfs, unmount, wait_for

NOBODY = 65534


def git(fx, *args):
    return fx.git(*args).decode('utf-8', 'surrogateescape')


def head(fx, ref='main'):
    return git(fx, 'rev-parse', ref).strip()


def refs(fx):
    return git(fx, 'for-each-ref', '--format=%(refname) %(objectname)')


def sync(mnt):
    p = run_ugitfs('--sync', mnt.mnt)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def status(mnt):
    p = run_ugitfs('--status', mnt.mnt)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def fsck(fx):
    p = subprocess.run(['git', *fx.git_args, 'fsck', '--strict', '--no-progress'], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture
def bare(tmp_path):
    return fixtures.build_packed_bare(tmp_path / 'repo')


@pytest.fixture
def open_dir():
    """A folder every user can traverse (pytest's tmp_path is 0700), removed afterwards."""
    d = tempfile.mkdtemp(prefix='ugitfs-trust-')
    os.chmod(d, 0o755)
    yield d
    unmount(os.path.join(d, 'mnt'))
    subprocess.run(['rm', '-rf', d], check=False)


# --- another user through allow_other -------------------------------------------

# Run as uid 65534: each named attempt is reported as "ok" or the errno name.
AS_NOBODY = r'''
import errno, json, os, sys
mnt, head = sys.argv[1], sys.argv[2]
w = os.path.join(mnt, 'work')
out = {}
def attempt(name, fn):
    try:
        r = fn()
        out[name] = 'ok' if r is None or isinstance(r, (int, list)) else r
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
def read(p):
    with open(p, 'rb') as f:
        return 'ok' if f.read() else 'empty'
def append(p):
    with open(p, 'ab') as f:
        f.write(b'x\n')
def create(p):
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
attempt('read snapshot file', lambda: read(os.path.join(mnt, 'commits', head, 'README.md')))
attempt('list snapshot', lambda: os.listdir(os.path.join(mnt, 'commits', head, 'src')))
attempt('read log', lambda: os.listdir(os.path.join(mnt, 'log', 'main')))
attempt('read work file', lambda: read(os.path.join(w, 'README.md')))
attempt('list work', lambda: os.listdir(os.path.join(w, 'src')))
attempt('append', lambda: append(os.path.join(w, 'README.md')))
attempt('open for write', lambda: os.close(os.open(os.path.join(w, 'README.md'), os.O_WRONLY)))
attempt('truncate', lambda: os.truncate(os.path.join(w, 'README.md'), 0))
attempt('chmod', lambda: os.chmod(os.path.join(w, 'README.md'), 0o777))
attempt('chmod folder', lambda: os.chmod(os.path.join(w, 'src'), 0o777))
attempt('utime', lambda: os.utime(os.path.join(w, 'README.md'), (1, 1)))
attempt('create at top', lambda: create(os.path.join(w, 'new')))
attempt('create in folder', lambda: create(os.path.join(w, 'src', 'new.c')))
attempt('mkdir', lambda: os.mkdir(os.path.join(w, 'dir')))
attempt('symlink', lambda: os.symlink('README.md', os.path.join(w, 'sym')))
attempt('unlink', lambda: os.unlink(os.path.join(w, 'README.md')))
attempt('unlink in folder', lambda: os.unlink(os.path.join(w, 'src', 'main.c')))
attempt('rmdir', lambda: os.rmdir(os.path.join(w, 'data')))
attempt('rename', lambda: os.rename(os.path.join(w, 'README.md'), os.path.join(w, 'R2')))
attempt('rename folder', lambda: os.rename(os.path.join(w, 'src'), os.path.join(w, 'src2')))
attempt('setxattr', lambda: os.setxattr(os.path.join(w, 'README.md'), 'user.x', b'1'))
print(json.dumps(out))
'''


def test_another_user_can_do_what_the_modes_allow_and_nothing_more(bare, open_dir):
    """allow_other: uid 65534 reads snapshots and work/ (0444, 0644, 0755) and can change nothing in
    root's 0644 files and 0755 folders, whether or not default_permissions was given."""
    mp = os.path.join(open_dir, 'mnt')
    os.mkdir(mp, 0o755)
    before = refs(bare)
    tip = head(bare)
    with Mount(bare.path, ['allow_other'], mountpoint=mp) as mnt:
        p = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                            '/usr/bin/python3', '-c', AS_NOBODY, mp, tip],
                           capture_output=True, text=True, timeout=60, cwd='/')
        assert p.returncode == 0, p.stderr
        got = json.loads(p.stdout)
        reads = ['read snapshot file', 'list snapshot', 'read log', 'read work file', 'list work']
        assert {k: got[k] for k in reads} == {k: 'ok' for k in reads}
        writes = {k: v for k, v in got.items() if k not in reads}
        assert {k: v for k, v in writes.items() if v not in ('EACCES', 'EPERM')} == {}
        assert status(mnt) == [], 'nothing became pending'
        assert sync(mnt) == 'nothing to commit'
        with open(mnt.path('work', 'README.md')) as f:
            assert f.read() == 'hello\nworld\n'
    assert refs(bare) == before
    fsck(bare)


# --- a checked-out branch is never the working branch ---------------------------

def nonbare(tmp_path):
    r = fixtures.Repo(tmp_path / 'checkout')
    fixtures.standard_history(r)
    return r, fixtures._fixture('checkout', r)


def checked_out_lines(out):
    return [l for l in out.splitlines() if 'checked out' in l]


def test_main_worktree_branch_gets_no_work_view(tmp_path):
    r, fx = nonbare(tmp_path)
    with Mount(fx.path) as mnt:
        assert 'work' not in os.listdir(mnt.mnt)
        assert os.path.islink(mnt.path('branches', 'main'))
        lines = checked_out_lines(mnt.output())
        assert len(lines) == 1, mnt.output()
        assert "'main'" in lines[0] and fx.path in lines[0] and 'branch=NAME' in lines[0]
    # a branch made for the purpose is a working branch
    r.git('branch', 'scratch')
    with Mount(fx.path, ['branch=scratch']) as mnt:
        with open(mnt.path('work', 'scratch.txt'), 'w') as f:
            f.write('scratch\n')
        commit = sync(mnt)
        assert checked_out_lines(mnt.output()) == []
    assert head(fx, 'scratch') == commit and head(fx, 'main') == r.rev('HEAD')
    p = subprocess.run(['git', '-C', fx.path, 'status', '--porcelain'], capture_output=True, text=True)
    assert p.stdout == '', 'the checkout is untouched'


def test_branch_option_naming_a_checked_out_branch_is_refused(tmp_path, open_dir):
    r, fx = nonbare(tmp_path)
    linked = os.path.join(os.path.realpath(tmp_path), 'linked')
    r.git('worktree', 'add', '-q', '-b', 'feature', linked, 'HEAD~1')
    mp = os.path.join(open_dir, 'mnt')
    os.mkdir(mp)
    for branch, where in (('main', fx.path), ('feature', linked)):
        before = refs(fx)
        p = run_ugitfs('-f', '-o', 'branch=' + branch, fx.path, mp, timeout=60)
        assert p.returncode != 0 and not is_mounted(mp), p
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "'%s'" % branch in lines[0] and 'checked out in %s' % where in lines[0], p.stderr
        assert refs(fx) == before
    # the same from the linked worktree: its own branch, and the main worktree's
    p = run_ugitfs('-f', '-o', 'branch=main', linked, mp, timeout=60)
    assert p.returncode != 0 and 'checked out in %s' % fx.path in p.stderr, p.stderr
    # read-only mounts of any branch are fine
    with Mount(fx.path, ['ro', 'branch=feature'], mountpoint=mp) as mnt:
        assert 'work' not in os.listdir(mnt.mnt)


def test_linked_worktree_branch_gets_no_work_view(tmp_path):
    r, fx = nonbare(tmp_path)
    linked = os.path.join(os.path.realpath(tmp_path), 'linked')
    r.git('worktree', 'add', '-q', '-b', 'feature', linked)
    with Mount(linked) as mnt:  # HEAD of the linked worktree names feature
        assert 'work' not in os.listdir(mnt.mnt)
        lines = checked_out_lines(mnt.output())
        assert len(lines) == 1 and "'feature'" in lines[0] and linked in lines[0], mnt.output()
    r.git('branch', 'other')
    with Mount(linked, ['branch=other']) as mnt:
        assert 'work' in os.listdir(mnt.mnt)


def test_bare_repository_keeps_work_view(bare):
    with Mount(bare.path) as mnt:
        assert 'work' in os.listdir(mnt.mnt)
        assert checked_out_lines(mnt.output()) == []
    # a bare repository's HEAD branch checked out in a linked worktree is taken too
    linked = os.path.join(os.path.dirname(bare.path), 'linked')
    bare.git('worktree', 'add', '-q', linked, 'main')
    with Mount(bare.path) as mnt:
        assert 'work' not in os.listdir(mnt.mnt)
        assert len(checked_out_lines(mnt.output())) == 1


def test_branch_checked_out_while_mounted_syncs_to_a_side_branch(bare):
    tip = head(bare)
    linked = os.path.join(os.path.dirname(bare.path), 'linked')
    with Mount(bare.path) as mnt:
        with open(mnt.path('work', 'mine.txt'), 'w') as f:
            f.write('mine\n')
        bare.git('worktree', 'add', '-q', linked, 'main')
        commit = sync(mnt)
        assert head(bare) == tip, 'the checked-out branch did not move'
        side = git(bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/ugitfs/conflict/main/').split()
        assert len(side) == 1 and head(bare, side[0]) == commit
        assert git(bare, 'rev-parse', commit + '^').strip() == tip
        assert git(bare, 'show', commit + ':mine.txt') == 'mine\n'
        st = status(mnt)
        assert st and st[0].startswith('## ugitfs/conflict/main/'), st
        assert any('checked out in %s' % linked in l for l in mnt.output().splitlines()), mnt.output()
        with open(mnt.path('work', 'mine.txt')) as f:
            assert f.read() == 'mine\n'
    p = subprocess.run(['git', '-C', linked, 'status', '--porcelain'], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == '', 'the linked checkout is untouched'
    fsck(bare)


# --- repositories git makes: shallow clones, packed-refs without a peeled line ----

def shallow_clone(tmp_path, depth):
    src = fixtures.Repo(tmp_path / 'src')
    fixtures.standard_history(src)
    for i in range(4):
        src.write('more/%d.txt' % i, '%d\n' % i)
        src.commit('more %d' % i)
    dest = tmp_path / 'shallow'
    fixtures.run_git(['clone', '-q', '--no-local', '--depth', str(depth), '--no-single-branch',
                      'file://' + src.path, str(dest)])
    return fixtures._fixture('shallow', fixtures.Repo(dest, init=False))


@pytest.mark.parametrize('depth', [1, 3, 6])
def test_shallow_clone_reads_as_git_reads_it(tmp_path, depth):
    """Commits listed in shallow have no parents: log/ starts there, numbered from 1, and every
    commit shows the parents git shows."""
    from test_mount_views import check_log
    fx = shallow_clone(tmp_path, depth)
    with open(os.path.join(fx.gitdir, 'shallow')) as f:
        boundary = f.read().split()
    assert boundary, 'git made a shallow clone'
    every = set(git(fx, 'rev-list', '--all').split())
    with Mount(fx.path, ['ro']) as mnt:
        check_log(fx, mnt, 'main')
        first = sorted(os.listdir(mnt.path('log', 'main')))[0]
        assert first.startswith('000001_')
        assert os.readlink(mnt.path('log', 'main', first)).endswith(
            git(fx, 'rev-list', '--first-parent', '--max-parents=0', 'main').split()[0])
        assert set(os.listdir(mnt.path('commits'))) == every
        for line in git(fx, 'rev-list', '--all', '--parents').splitlines():
            oid, *parents = line.split()
            got = os.getxattr(mnt.path('commits', oid), 'user.ugit.parents').decode()
            assert got == ' '.join(parents), oid
        for oid in boundary:
            assert os.getxattr(mnt.path('commits', oid), 'user.ugit.parents') == b''
        for name in os.listdir(mnt.path('branches')):
            if not os.path.islink(mnt.path('branches', name)):
                continue
            if git(fx, 'rev-parse', '--verify', '-q', 'refs/heads/' + name).strip():
                check_log(fx, mnt, name)
        assert 'error' not in mnt.output().lower(), mnt.output()


@pytest.mark.parametrize('depth', [1, 3])
def test_shallow_clone_in_the_core_and_ugit(tmp_path, depth):
    """Every reader of commits sees the boundary: the core's walks and the ugit command."""
    from conftest import ugtool
    fx = shallow_clone(tmp_path, depth)
    chain = git(fx, 'rev-list', '--first-parent', 'main').split()
    assert ugtool(fx.path, 'log-first-parent', 'main').lines() == chain
    assert sorted(ugtool(fx.path, 'rev-list-all').lines()) == sorted(git(fx, 'rev-list', '--all').split())
    ugit = os.path.join(os.path.dirname(UGITFS), 'ugit', 'ugit')
    p = subprocess.run([ugit, 'log'], cwd=fx.path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    shown = [l.split()[1] for l in p.stdout.splitlines() if l.startswith('commit ')]
    assert shown == git(fx, 'rev-list', '--first-parent', 'HEAD').split()


def test_deepening_a_mounted_shallow_clone_lengthens_its_log(tmp_path):
    from test_mount_views import check_log
    fx = shallow_clone(tmp_path, 2)
    with Mount(fx.path, ['ro']) as mnt:
        assert len(os.listdir(mnt.path('log', 'main'))) == 2
        fx.git('fetch', '-q', '--deepen', '3')
        want = len(git(fx, 'rev-list', '--first-parent', 'main').split())
        assert want > 2
        wait_for(lambda: len(os.listdir(mnt.path('log', 'main'))) == want, 5, 'log/main to show the deeper history')
        check_log(fx, mnt, 'main')
        fx.git('fetch', '-q', '--unshallow')
        assert not os.path.exists(os.path.join(fx.gitdir, 'shallow'))
        want = len(git(fx, 'rev-list', '--first-parent', 'main').split())
        wait_for(lambda: len(os.listdir(mnt.path('log', 'main'))) == want, 5, 'log/main to show all history')
        check_log(fx, mnt, 'main')


def test_packed_tag_without_peeled_line_is_peeled_from_its_object(tmp_path):
    """A packed-refs saying "peeled fully-peeled" whose annotated tag has no "^" line (libgit2's
    testrepo has one): tags/ shows it, peeled by reading the tag object, as git does."""
    r = fixtures.Repo(tmp_path / 'r')
    fixtures.standard_history(r)
    r.tag('light', 'HEAD~1')
    r.tag('annotated', 'HEAD~2', 'an annotated tag')
    r.tag('nested', 'annotated', 'a tag of a tag')
    fx = fixtures._fixture('peel', r)
    tags = {}
    for name in ('light', 'annotated', 'nested'):
        tags[name] = (r.rev('refs/tags/' + name), r.rev('refs/tags/%s^{commit}' % name))
    assert tags['annotated'][0] != tags['annotated'][1], 'the tag object is not the commit'
    lines = ['# pack-refs with: peeled fully-peeled sorted ']
    lines.append('%s refs/heads/main' % r.rev('main'))
    lines.append('%s refs/heads/topic' % r.rev('topic'))
    for name in sorted(tags):
        lines.append('%s refs/tags/%s' % (tags[name][0], name))  # no "^" lines at all
    for ref in fx.git_lines('for-each-ref', '--format=%(refname)'):
        os.unlink(os.path.join(fx.gitdir, ref)) if os.path.exists(os.path.join(fx.gitdir, ref)) else None
    with open(os.path.join(fx.gitdir, 'packed-refs'), 'wb') as f:
        f.write(('\n'.join(lines) + '\n').encode())
    for name, (_, commit) in tags.items():  # the oracle reads the object too
        assert r.rev('refs/tags/%s^{commit}' % name) == commit
    with Mount(fx.path, ['ro']) as mnt:
        for name, (_, commit) in tags.items():
            assert os.readlink(mnt.path('tags', name)) == '../commits/' + commit, name
            assert os.getxattr(mnt.path('tags', name) + '/', 'user.ugit.commit').decode() == commit


# --- the git config environment -------------------------------------------------

def config_env(**values):
    env = {k: v for k, v in os.environ.items() if not k.startswith('GIT_CONFIG') and
           k not in fixtures.IDENT}
    env.update(values)
    return env


def git_says(env, key):
    p = subprocess.run(['git', 'config', '--get', key], capture_output=True, text=True, env=env, cwd='/')
    return p.stdout.strip()


def test_git_config_global_dev_null_mounts(bare, tmp_path):
    env = config_env(GIT_CONFIG_GLOBAL='/dev/null', GIT_CONFIG_NOSYSTEM='1')
    with Mount(bare.path, ['ro'], env=env) as mnt:
        with open(mnt.path('HEAD', 'README.md')) as f:
            assert f.read() == 'hello\nworld\n'


@pytest.mark.parametrize('nosystem', [None, '1', '0', 'false', 'yes'])
def test_git_config_variables_choose_files_as_git_does(bare, tmp_path, nosystem):
    """GIT_CONFIG_SYSTEM, GIT_CONFIG_NOSYSTEM (a boolean) and GIT_CONFIG_GLOBAL pick the identity
    of a sync's commit exactly as they pick what `git config` reads."""
    system = tmp_path / 'system'
    system.write_text('[user]\n\tname = Sys Tem\n\temail = sys@example.com\n')
    values = dict(GIT_CONFIG_SYSTEM=str(system), GIT_CONFIG_GLOBAL='/dev/null')
    if nosystem is not None:
        values['GIT_CONFIG_NOSYSTEM'] = nosystem
    env = config_env(**values)
    want = git_says(env, 'user.name')
    assert want in ('Sys Tem', '')
    with Mount(bare.path, env=env) as mnt:
        with open(mnt.path('work', 'who.txt'), 'w') as f:
            f.write('who\n')
        commit = sync(mnt)
    name = git(bare, 'log', '-1', '--format=%an', commit).strip()
    if want:
        assert name == want
    else:
        assert name != 'Sys Tem' and name != 'U Ser'
    # and the global file, named by GIT_CONFIG_GLOBAL, wins over the system one
    glob = tmp_path / 'global'
    glob.write_text('[user]\n\tname = Glo Bal\n')
    env = config_env(**dict(values, GIT_CONFIG_GLOBAL=str(glob)))
    assert git_says(env, 'user.name') == 'Glo Bal'
    with Mount(bare.path, env=env) as mnt:
        with open(mnt.path('work', 'who2.txt'), 'w') as f:
            f.write('who\n')
        commit = sync(mnt)
    assert git(bare, 'log', '-1', '--format=%an', commit).strip() == 'Glo Bal'


# --- signals --------------------------------------------------------------------

def daemon_pids(mountpoint_arg):
    """Pids of ugitfs processes whose arguments hold mountpoint_arg."""
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                args = f.read().split(b'\0')
            if args and args[0].endswith(b'ugitfs') and os.fsencode(mountpoint_arg) in args:
                pids.append(int(pid))
    return pids


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with contextlib.suppress(OSError):
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(')')[-1].split()[0] == 'Z'
    return False


@pytest.mark.parametrize('daemon', [False, True], ids=['-f', 'daemon'])
@pytest.mark.parametrize('relative', [True, False], ids=['relative', 'absolute'])
@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_commits_unmounts_and_exits_0(bare, tmp_path, sig, relative, daemon):
    parent = tmp_path / 'here'
    parent.mkdir()
    name = 'mnt-%s-%d' % (sig.name, os.getpid())
    mp = str(parent / name)
    os.mkdir(mp)
    arg = name if relative else mp
    log = open(tmp_path / 'log', 'w+')
    args = [UGITFS] + ([] if daemon else ['-f']) + [bare.path, arg]
    proc = subprocess.Popen(args, cwd=str(parent), stdout=log, stderr=subprocess.STDOUT)
    tip = head(bare)
    try:
        if daemon:
            assert proc.wait(timeout=30) == 0, open(tmp_path / 'log').read()
        wait_for(lambda: is_mounted(mp), 15, 'the mount')
        pids = [proc.pid] if not daemon else daemon_pids(arg)
        assert len(pids) == 1, pids
        with open(os.path.join(mp, 'work', 'pending.txt'), 'w') as f:
            f.write('pending at the signal\n')
        os.kill(pids[0], sig)
        wait_for(lambda: pid_gone(pids[0]), 20, 'the daemon to exit')
        if not daemon:
            assert proc.wait(timeout=5) == 0, open(tmp_path / 'log').read()
        assert not is_mounted(mp), 'no mount left behind'
        assert os.listdir(mp) == [], 'the mount point is an ordinary empty folder again'
        assert head(bare) != tip, 'the pending change was committed'
        assert git(bare, 'show', 'main:pending.txt') == 'pending at the signal\n'
        assert git(bare, 'rev-parse', 'main^').strip() == tip
        out = open(tmp_path / 'log').read()
        assert not [b for b in BAD_OUTPUT if b in out], out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        unmount(mp)
        log.close()
    fsck(bare)
