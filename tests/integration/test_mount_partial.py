"""Partial clones (blob:none, tree:0): missing objects come from the promisor remote through git fetch, a folder at a time."""

import errno
import os
import shutil
import stat
import subprocess
import time

import pytest

from mounting import Mount, is_mounted, run_ugitfs, wait_for

# Each fetch makes the server run pack-objects once; this hook counts them.
HOOK = '#!/bin/sh\necho "$$" >> "%s"\nexec "$@"\n'


def git(repo, *args, env=None, check=True, input=None):
    p = subprocess.run(['git', '-C', str(repo), *args], capture_output=True, env=env, input=input)
    if check and p.returncode:
        raise AssertionError(f"git {' '.join(args)} -> {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode('utf-8', 'surrogateescape')


def commit(repo, message):
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', message)
    return git(repo, 'rev-parse', 'HEAD').strip()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def make_server(root):
    """A server repository with a 50-file folder, nested folders, symlinks and
    executables over three commits; old/ exists only in the first."""
    srv = root / 'server'
    git(root, 'init', '-q', str(srv))
    for i in range(50):
        write(srv / 'big' / f'f{i:03d}.txt', f'big file {i}\n' * (i + 1))
    write(srv / 'src' / 'main.c', 'int main(void) { return 0; }\n')
    write(srv / 'src' / 'run.sh', '#!/bin/sh\necho run\n', 0o755)
    write(srv / 'lib' / 'deep' / 'er' / 'leaf.txt', 'a leaf\n')
    write(srv / 'old' / 'unique.txt', 'only in the first commit\n')
    os.symlink('src/main.c', srv / 'link')
    commits = [commit(srv, 'one')]
    shutil.rmtree(srv / 'old')
    write(srv / 'src' / 'main.c', 'int main(void) { return 1; }\n')
    write(srv / 'other' / 'untouched.txt', 'nobody reads me\n')
    commits.append(commit(srv, 'two'))
    write(srv / 'lib' / 'deep' / 'er' / 'leaf2.txt', 'another leaf\n')
    os.symlink('../../../big/f001.txt', srv / 'lib' / 'deep' / 'er' / 'up')
    commits.append(commit(srv, 'three'))
    git(srv, 'config', 'uploadpack.allowFilter', 'true')
    git(srv, 'config', 'uploadpack.allowAnySHA1InWant', 'true')
    return srv, commits


@pytest.fixture
def server(tmp_path):
    """(server path, commits, env for the daemon, the hook's log of fetches)."""
    srv, commits = make_server(tmp_path)
    log = tmp_path / 'fetches.log'
    hook = tmp_path / 'hook.sh'
    hook.write_text(HOOK % log)
    hook.chmod(0o755)
    glob = tmp_path / 'global.gitconfig'
    home_cfg = os.path.join(os.environ['HOME'], '.gitconfig')
    with open(home_cfg) as f:
        base = f.read()
    # packObjectsHook is only honoured from global or system config
    glob.write_text(base + f'[uploadpack]\n\tpackObjectsHook = {hook}\n')
    env = dict(os.environ, GIT_CONFIG_GLOBAL=str(glob))
    return srv, commits, env, log


def clone(server_path, dest, filt, bare):
    args = ['clone', '-q', f'--filter={filt}', '--no-checkout']
    if bare:
        args.append('--bare')
    git(dest.parent, *args, f'file://{server_path}', str(dest))
    return dest


def fetches(log):
    return len(log.read_text().splitlines()) if log.exists() else 0


def missing(repo, *revs):
    """Ids git says are promised but not here (below revs, default every ref)."""
    out = git(repo, 'rev-list', '--objects', '--missing=print', *(revs or ['--all']))
    return {l[1:] for l in out.splitlines() if l.startswith('?')}


def check_snapshot(mnt, srv, rev):
    """Every entry of rev under commits/REV reads as the server has it."""
    listing = git(srv, 'ls-tree', '-r', '-z', rev).split('\0')
    base = mnt.path('commits', rev)
    for entry in filter(None, listing):
        meta, path = entry.split('\t', 1)
        mode, _, oid = meta.split()
        p = os.path.join(base, path)
        st = os.lstat(p)
        if mode == '120000':
            assert stat.S_ISLNK(st.st_mode), path
            assert os.readlink(p) == git(srv, 'cat-file', 'blob', oid), path
            continue
        assert stat.S_IMODE(st.st_mode) == (0o555 if mode == '100755' else 0o444), path
        with open(p, 'rb') as f:
            data = f.read()
        want = subprocess.run(['git', '-C', str(srv), 'cat-file', 'blob', oid], capture_output=True).stdout
        assert data == want, path
        assert st.st_size == len(want), path


@pytest.mark.parametrize('filt', ['blob:none', 'tree:0'])
@pytest.mark.parametrize('bare', [True, False], ids=['bare', 'checkout'])
def test_partial_clone_reads_every_snapshot(server, tmp_path, filt, bare):
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', filt, bare)
    assert missing(repo), 'the clone should lack objects to begin with'
    # a checked-out branch gets no work/: read-only for the non-bare clone
    with Mount(str(repo), ['ro'] if not bare else [], env=env) as mnt:
        for rev in commits:
            check_snapshot(mnt, srv, rev)
        assert 'is a partial clone' in mnt.output() and "'origin'" in mnt.output()
    assert not missing(repo), 'fetched objects are stored in the repository'
    p = subprocess.run(['git', '-C', str(repo), 'fsck', '--no-progress'], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize('how', ['listed', 'by_name'])
def test_partial_folder_costs_few_fetches(server, tmp_path, how):
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    before = fetches(log)
    names = [f'f{i:03d}.txt' for i in range(50)]
    with Mount(str(repo), ['ro'], env=env) as mnt:
        folder = mnt.path('commits', commits[-1], 'big')
        if how == 'listed':
            names = sorted(os.listdir(folder))
            assert len(names) == 50
        for name in names:  # in order, as tar or grep -r would
            with open(os.path.join(folder, name), 'rb') as f:
                assert f.read().startswith(b'big file')
    n = fetches(log) - before
    assert 1 <= n <= 3, f'{n} fetches for one 50-file folder'


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def test_partial_unreachable_remote_gives_eio_then_recovers(server, tmp_path):
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    old_oid = git(srv, 'rev-parse', f'{commits[0]}:old/unique.txt').strip()
    with Mount(str(repo), ['ro', 'fetch_timeout=5'], env=env) as mnt:
        head = mnt.path('commits', commits[-1])
        first = read(os.path.join(head, 'src', 'main.c'))
        # the background prefetch of the snapshot ends before the server goes
        wait_for(lambda: not missing(repo, f'{commits[-1]}^{{tree}}'), 30, 'the prefetch of the latest snapshot')
        assert old_oid in missing(repo)
        gone = srv.with_name('server-moved')
        srv.rename(gone)
        try:
            start = time.monotonic()
            with pytest.raises(OSError) as e:
                read(mnt.path('commits', commits[0], 'old', 'unique.txt'))
            assert e.value.errno == errno.EIO
            assert time.monotonic() - start < 30, 'the failure must come within the timeout'
            assert is_mounted(mnt.mnt) and mnt.proc.poll() is None, 'the daemon stays up'
            assert read(os.path.join(head, 'src', 'main.c')) == first, 'local objects keep reading'
            assert read(os.path.join(head, 'big', 'f007.txt')).startswith(b'big file 7')
            out = mnt.output()
            assert "promisor remote 'origin'" in out and 'does not appear to be a git repository' in out, out
        finally:
            gone.rename(srv)
        # after the back-off the next access asks again, in the same mount
        wait_for(lambda: read(mnt.path('commits', commits[0], 'old', 'unique.txt')) ==
                 b'only in the first commit\n', 30, 'the remote to be back')


def test_partial_work_sync_fetches_only_what_it_needs(server, tmp_path):
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    untouched = git(srv, 'rev-parse', 'HEAD:other/untouched.txt').strip()
    with Mount(str(repo), [], env=env) as mnt:
        work = mnt.path('work')
        write(os.path.join(work, 'new.txt'), 'new\n')
        with open(os.path.join(work, 'src', 'main.c'), 'a') as f:
            f.write('/* more */\n')
        before = fetches(log)
        os.rename(os.path.join(work, 'big'), os.path.join(work, 'large'))  # copies up 50 blobs
        assert fetches(log) - before <= 3, 'a folder moved in work/ fetches its blobs together'
        before = fetches(log)
        leaf = os.path.join(work, 'lib', 'deep', 'er')
        assert sorted((n, os.lstat(os.path.join(leaf, n)).st_size) for n in os.listdir(leaf)) == \
            [('leaf.txt', 7), ('leaf2.txt', 13), ('up', 21)]
        assert fetches(log) - before <= 2, 'listing a folder of work/ fetches its sizes together'
        p = run_ugitfs('--sync', '-m', 'edit a partial clone', mnt.mnt)
        assert p.returncode == 0, p.stderr
        tip = p.stdout.strip()
    p = subprocess.run(['git', '-C', str(repo), 'fsck', '--strict', '--no-progress'], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert untouched in missing(repo), 'a sync must not fetch unchanged blobs'
    names = set(git(repo, 'ls-tree', '-r', '--name-only', tip).splitlines())
    assert {'new.txt', 'large/f000.txt', 'large/f049.txt', 'lib/deep/er/up', 'other/untouched.txt'} <= names
    assert not any(n.startswith('big/') for n in names)
    assert git(repo, 'cat-file', 'blob', f'{tip}:src/main.c').endswith('/* more */\n')
    assert git(repo, 'cat-file', 'blob', f'{tip}:large/f049.txt') == 'big file 49\n' * 50


def test_partial_silent_remote_times_out(server, tmp_path):
    """A remote that never answers: the fetch is killed at fetch_timeout, the path gives EIO."""
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    slow = tmp_path / 'slow.sh'
    pidfile = tmp_path / 'slow.pid'
    slow.write_text(f'#!/bin/sh\necho $$ > "{pidfile}"\nexec sleep 300\n')
    slow.chmod(0o755)
    git(repo, 'config', 'remote.origin.uploadpack', str(slow))
    with Mount(str(repo), ['ro', 'fetch_timeout=2'], env=env) as mnt:
        start = time.monotonic()
        with pytest.raises(OSError) as e:
            read(mnt.path('commits', commits[-1], 'src', 'main.c'))
        assert e.value.errno == errno.EIO
        assert time.monotonic() - start < 60
        assert 'no answer within 2 s' in mnt.output(), mnt.output()
        pid = int(pidfile.read_text())
        wait_for(lambda: not os.path.exists(f'/proc/{pid}') or
                 open(f'/proc/{pid}/stat').read().split()[2] == 'Z', 10, 'the silent server to be killed')
        # what is local keeps working: the folders (trees came with the clone)
        assert sorted(os.listdir(mnt.path('commits', commits[-1]))) == ['big', 'lib', 'link', 'other', 'src']
        assert is_mounted(mnt.mnt) and mnt.proc.poll() is None


def test_partial_many_readers_share_fetches(server, tmp_path):
    """Threads reading one folder at once wait on the same fetches instead of each asking."""
    import concurrent.futures
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    before = fetches(log)
    with Mount(str(repo), ['ro'], env=env) as mnt:
        folder = mnt.path('commits', commits[-1], 'big')
        paths = [os.path.join(folder, f'f{i:03d}.txt') for i in range(50)] * 4
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            datas = list(ex.map(read, paths))
    for i, d in enumerate(datas):
        assert d == f'big file {i % 50}\n'.encode() * (i % 50 + 1)
    n = fetches(log) - before
    assert 1 <= n <= 4, f'{n} fetches for 16 threads reading one folder'


def test_partial_core_reads_fetch_missing_objects(server, tmp_path):
    """The core alone (ugtool): a missing object is fetched on read and then stored."""
    from conftest import ugtool
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    oid = git(srv, 'rev-parse', f'{commits[0]}:old/unique.txt').strip()
    assert oid in missing(repo)
    assert ugtool(str(repo), 'cat-file', '-p', oid).out == b'only in the first commit\n'
    assert oid not in missing(repo)
    srv.rename(srv.with_name('gone'))
    other = git(repo, 'rev-parse', f'{commits[0]}:src/main.c').strip()
    r = ugtool(str(repo), 'cat-file', '-p', other, check=False)
    assert r.rc != 0 and "promisor remote 'origin'" in r.err, str(r)


def test_partial_remote_name_is_never_an_option(server, tmp_path):
    """A config naming the promisor '--upload-pack=...' must not run anything: the name is refused."""
    from conftest import ugtool
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    pwned = tmp_path / 'pwned'
    git(repo, 'config', 'extensions.partialClone', f'--upload-pack=touch {pwned};git-upload-pack')
    oid = git(srv, 'rev-parse', f'{commits[0]}:old/unique.txt').strip()
    assert ugtool(str(repo), 'cat-file', '-p', oid).out == b'only in the first commit\n'  # from origin
    assert not pwned.exists()


def test_partial_unknown_names_neither_fetch_nor_hold_back_others(server, tmp_path):
    """A commit id that names nothing is ENOENT without asking the remote, and a
    blob the remote does not have (a tree made locally names it) is EIO for that
    path only: the remote answered, so other missing files still fetch at once."""
    srv, commits, env, log = server
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    ghost = '0123456789' * 4
    entry = b'100644 ghost.txt\0' + bytes.fromhex(ghost)
    tree = git(repo, 'hash-object', '-t', 'tree', '-w', '--stdin', '--literally', input=entry).strip()
    local = git(repo, 'commit-tree', tree, '-p', commits[-1], '-m', 'names a blob nobody has').strip()
    git(repo, 'update-ref', 'refs/heads/ghost', local)
    before = fetches(log)
    with Mount(str(repo), ['ro'], env=env) as mnt:
        with pytest.raises(FileNotFoundError):
            os.stat(mnt.path('commits', ghost))
        assert fetches(log) == before, 'a name that is no object is not asked of the remote'
        with pytest.raises(OSError) as e:
            read(mnt.path('commits', local, 'ghost.txt'))
        assert e.value.errno == errno.EIO
        assert read(mnt.path('commits', commits[-1], 'src', 'main.c')) == b'int main(void) { return 1; }\n'
        assert mnt.proc.poll() is None, mnt.output()


@pytest.mark.parametrize('tunables', [None, 'glibc.malloc.tcache_count=7'], ids=['unset', 'set'])
def test_partial_fetch_gets_the_callers_glibc_tunables(server, tmp_path, tunables):
    """The daemon runs itself once more with its own malloc tunables (heap in huge pages): the
    git fetches it starts, and what they start, see the caller's GLIBC_TUNABLES (or none) and
    not the daemon's. The server's pack-objects hook logs what it sees."""
    srv, commits, env, log = server
    seen = tmp_path / 'tunables.log'
    hook = tmp_path / 'hook.sh'
    hook.write_text('#!/bin/sh\necho "[${GLIBC_TUNABLES-unset}]" >> "%s"\nexec "$@"\n' % seen)
    repo = clone(srv, tmp_path / 'clone', 'blob:none', True)
    env = dict(env)
    env.pop('GLIBC_TUNABLES', None)
    if tunables:
        env['GLIBC_TUNABLES'] = tunables
    with Mount(str(repo), ['ro'], env=env) as mnt:
        with open('/proc/%d/environ' % mnt.proc.pid, 'rb') as f:
            assert b'UGITFS_HEAP=' in f.read(), 'the daemon runs itself once more, tuned'
        with open('/proc/%d/comm' % mnt.proc.pid) as f:
            assert f.read().strip() == 'ugitfs', 'and by its own name: ps and pgrep find it'
        assert read(mnt.path('commits', commits[-1], 'src', 'main.c')) == b'int main(void) { return 1; }\n'
    assert set(seen.read_text().splitlines()) == {'[%s]' % (tunables or 'unset')}
