"""The working view work/ (ugitfs(1), THE WORKING VIEW): real programs edit it, every sync is a real commit git accepts."""

import errno
import os
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import fixtures
from mounting import Mount, is_mounted, run_ugitfs, unmount, wait_for


def git(fx, *args, check=True):
    return fx.git(*args, check=check).decode('utf-8', 'surrogateescape')


def head(fx, ref='main'):
    return git(fx, 'rev-parse', ref).strip()


def sync(mnt, message=None):
    args = ['--sync'] + (['-m', message] if message else []) + [mnt.mnt]
    p = run_ugitfs(*args)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def status(mnt):
    p = run_ugitfs('--status', mnt.mnt)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def changed(fx, commit):
    """`git diff --name-status PARENT COMMIT` as {path: status}."""
    out = git(fx, 'diff-tree', '-r', '--no-renames', '--name-status', '-z', '--root', commit)
    parts = [p for p in out.split('\0') if p]
    if parts and len(parts[0]) == 40:
        parts = parts[1:]
    return {parts[i + 1]: parts[i] for i in range(0, len(parts), 2)}


def fsck(fx):
    p = subprocess.run(['git', *fx.git_args, 'fsck', '--strict', '--no-progress'], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def show(fx, rev, path):
    return fx.git('show', '%s:%s' % (rev, path))


@pytest.fixture
def fx(tmp_path):
    """A bare repository: no worktree has main checked out, so work/ shows main."""
    return fixtures.build_packed_bare(tmp_path / 'repo')


class Outside(fixtures.Repo):
    """A clone of fx where commits are made outside the mount; commit() pushes them to main."""

    def __init__(self, fx, tick):
        path = os.path.join(os.path.dirname(fx.path), 'outside')
        fixtures.run_git(['clone', '-q', fx.path, path])
        super().__init__(path, init=False)
        self.tick = tick

    def commit(self, message):
        self.git('fetch', '-q', 'origin', 'main')
        self.git('merge', '-q', '--ff-only', 'FETCH_HEAD')
        oid = super().commit(message)
        self.git('push', '-q', 'origin', 'HEAD:main')
        return oid


def test_edits_by_real_programs(fx, tmp_path):
    """cp -a, rsync -a, tar -x, mv of folders, sed -i, truncate, chmod +x, ln -s, writes at offsets."""
    src = tmp_path / 'src'
    (src / 'tree' / 'deeper').mkdir(parents=True)
    (src / 'tree' / 'one.txt').write_text('one\n')
    (src / 'tree' / 'deeper' / 'two.txt').write_text('two\n')
    (src / 'tool.sh').write_text('#!/bin/sh\necho tool\n')
    os.chmod(src / 'tool.sh', 0o755)
    tarball = tmp_path / 'x.tar'
    subprocess.run(['tar', '-cf', str(tarball), '-C', str(src), 'tree'], check=True)
    before = head(fx)
    with Mount(fx.path) as mnt:
        w = mnt.path('work')
        assert sorted(os.listdir(w)) == sorted(git(fx, 'ls-tree', '--name-only', 'HEAD').split())
        subprocess.run(['cp', '-a', str(src / 'tree'), os.path.join(w, 'copied')], check=True)
        subprocess.run(['rsync', '-a', str(src) + '/', os.path.join(w, 'synced') + '/'], check=True)
        subprocess.run(['tar', '-xf', str(tarball), '-C', os.path.join(w, 'src')], check=True)
        subprocess.run(['mv', os.path.join(w, 'src', 'util'), os.path.join(w, 'moved-util')], check=False)
        subprocess.run(['mv', os.path.join(w, 'data'), os.path.join(w, 'moved-data')], check=True)
        subprocess.run(['sed', '-i', 's/world/WORLD/', os.path.join(w, 'README.md')], check=True)
        subprocess.run(['truncate', '-s', '10', os.path.join(w, 'src', 'main.c')], check=True)
        subprocess.run(['chmod', '+x', os.path.join(w, 'copied', 'one.txt')], check=True)
        subprocess.run(['ln', '-s', 'README.md', os.path.join(w, 'readme-link')], check=True)
        with open(os.path.join(w, 'sparse.bin'), 'wb') as f:
            f.seek(100000)
            f.write(b'end')
            f.seek(10)
            f.write(b'middle')
        with open(os.path.join(w, 'README.md'), 'ab') as f:
            f.write(b'appended\n')
        commit = sync(mnt, 'edits by real programs')
    assert commit == head(fx)
    assert git(fx, 'rev-parse', commit + '^').strip() == before
    assert git(fx, 'log', '-1', '--format=%B', commit).strip() == 'edits by real programs'
    ch = changed(fx, commit)
    assert ch['copied/one.txt'] == 'A' and ch['copied/deeper/two.txt'] == 'A'
    assert ch['synced/tool.sh'] == 'A' and ch['synced/tree/deeper/two.txt'] == 'A'
    assert ch['src/tree/one.txt'] == 'A'
    assert ch['data/blob.bin'] == 'D' and ch['moved-data/blob.bin'] == 'A'
    assert ch['README.md'] == 'M' and ch['src/main.c'] == 'M'
    assert show(fx, commit, 'README.md') == b'hello\nWORLD\nappended\n'
    assert show(fx, commit, 'src/main.c') == fixtures.C_SOURCE.replace('* 7 +', '* 70 +').encode()[:10]
    assert show(fx, commit, 'moved-data/blob.bin') == bytes(range(256)) * 40
    tree = {l.split('\t')[1]: l.split()[0] for l in git(fx, 'ls-tree', '-r', commit).splitlines()}
    assert tree['copied/one.txt'] == '100755' and tree['synced/tool.sh'] == '100755'
    assert tree['readme-link'] == '120000' and show(fx, commit, 'readme-link') == b'README.md'
    sparse = show(fx, commit, 'sparse.bin')
    assert len(sparse) == 100003 and sparse[10:16] == b'middle' and sparse[-3:] == b'end'
    assert git(fx, 'reflog', '-1', '--format=%gs', 'main').startswith('commit (ugitfs): edits by real programs')
    fsck(fx)


def test_posix_semantics(fx):
    with Mount(fx.path) as mnt:
        w = mnt.path('work')
        p = os.path.join(w, 'excl')
        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, b'x')
        os.close(fd)
        with pytest.raises(FileExistsError):
            os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b'yz')
        os.close(fd)
        fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b'new')
        os.close(fd)
        with open(p, 'rb') as f:
            assert f.read() == b'new'
        os.utime(p, (1000000000, 1000000000))
        assert os.stat(p).st_mtime == 1000000000
        with pytest.raises(OSError) as e:
            os.link(p, os.path.join(w, 'hard'))
        assert e.value.errno == errno.EPERM
        with pytest.raises(OSError) as e:
            os.mkfifo(os.path.join(w, 'fifo'))
        assert e.value.errno == errno.EPERM
        with pytest.raises(OSError) as e:
            os.rmdir(os.path.join(w, 'src'))
        assert e.value.errno == errno.ENOTEMPTY
        with pytest.raises(OSError) as e:
            os.rename(os.path.join(w, 'src'), os.path.join(w, 'src', 'inside'))
        assert e.value.errno == errno.EINVAL
        st = os.statvfs(w)
        assert st.f_bsize > 0
        # the modes of work/: 0644, 0755, folders 0755
        assert stat.S_IMODE(os.lstat(os.path.join(w, 'README.md')).st_mode) == 0o644
        assert stat.S_IMODE(os.lstat(os.path.join(w, 'bin', 'run.sh')).st_mode) == 0o755
        assert stat.S_IMODE(os.lstat(os.path.join(w, 'src')).st_mode) == 0o755
        # a read-only view stays read-only, even as a rename target
        with pytest.raises(OSError) as e:
            os.rename(p, mnt.path('commits', head(fx), 'x'))
        assert e.value.errno == errno.EROFS
        # delete a tracked folder, make a file in its place
        subprocess.run(['rm', '-r', os.path.join(w, 'src')], check=True)
        with open(os.path.join(w, 'src'), 'w') as f:
            f.write('now a file\n')
        commit = sync(mnt)
    ch = changed(fx, commit)
    assert ch['src'] == 'A' and ch['src/main.c'] == 'D' and ch['excl'] == 'A'
    assert show(fx, commit, 'excl') == b'new'
    fsck(fx)


def test_ignored_files_and_empty_folders_stay_but_are_not_committed(fx):
    info = os.path.join(fx.gitdir, 'info')
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, 'exclude'), 'a') as f:
        f.write('*.tmp\n')
    with Mount(fx.path) as mnt:
        w = mnt.path('work')
        with open(os.path.join(w, '.gitignore'), 'w') as f:
            f.write('build/\n*.o\n')
        os.makedirs(os.path.join(w, 'build', 'out'))
        for name in ('build/out/a.bin', 'main.o', 'scratch.tmp', 'kept.c'):
            with open(os.path.join(w, name), 'w') as f:
                f.write(name)
        os.makedirs(os.path.join(w, 'empty', 'nested'))
        assert sorted(status(mnt)) == ['A  .gitignore', 'A  kept.c']
        commit = sync(mnt)
        assert set(changed(fx, commit)) == {'.gitignore', 'kept.c'}
        for name in ('build/out/a.bin', 'main.o', 'scratch.tmp', 'empty/nested'):
            assert os.path.lexists(os.path.join(w, name)), name
        assert status(mnt) == []
        assert sync(mnt) == 'nothing to commit'
    assert head(fx) == commit


def test_sync_triggers(fx):
    """fsync and fdatasync of a file, fsync of a folder, ugitfs --sync, unmount: each makes one commit."""
    with Mount(fx.path) as mnt:
        w = mnt.path('work')
        commits = []
        for i, how in enumerate(['fsync', 'fdatasync', 'fsyncdir']):
            before = head(fx)
            path = os.path.join(w, 'trigger-%d.txt' % i)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b'by %s\n' % how.encode())
            if how == 'fsync':
                os.fsync(fd)
            elif how == 'fdatasync':
                os.fdatasync(fd)
            else:
                d = os.open(w, os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(d)
                os.close(d)
            # when fsync returns, another process sees the commit
            after = subprocess.run(['git', *fx.git_args, 'log', '-1', '--format=%H', 'main'],
                                   capture_output=True, text=True, check=True).stdout.strip()
            os.close(fd)
            assert after != before, how
            assert git(fx, 'show', after + ':trigger-%d.txt' % i) == 'by %s\n' % how
            commits.append(after)
        with open(os.path.join(w, 'at-unmount.txt'), 'w') as f:
            f.write('committed at unmount\n')
        before = head(fx)
    assert head(fx) != before
    assert git(fx, 'show', 'main:at-unmount.txt') == 'committed at unmount\n'
    fsck(fx)


def test_nothing_pending_makes_no_commit(fx):
    before = head(fx)
    with Mount(fx.path) as mnt:
        assert sync(mnt) == 'nothing to commit'
        fd = os.open(mnt.path('work', 'README.md'), os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        # a change undone is no change either
        p = mnt.path('work', 'README.md')
        with open(p, 'rb') as f:
            data = f.read()
        with open(p, 'wb') as f:
            f.write(b'changed')
        with open(p, 'wb') as f:
            f.write(data)
        assert status(mnt) == []
        assert sync(mnt) == 'nothing to commit'
    assert head(fx) == before


def test_autosync(fx):
    before = head(fx)
    with Mount(fx.path, ['autosync=1']) as mnt:
        with open(mnt.path('work', 'auto.txt'), 'w') as f:
            f.write('autosynced\n')
        wait_for(lambda: head(fx) != before, 10, 'an autosync commit')
        assert git(fx, 'show', 'main:auto.txt') == 'autosynced\n'


def test_author_and_default_message(fx):
    with Mount(fx.path, ['author=Some One <some@one.example>']) as mnt:
        with open(mnt.path('work', 'a.txt'), 'w') as f:
            f.write('a\n')
        os.unlink(mnt.path('work', 'link'))
        commit = sync(mnt)
    assert git(fx, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', commit).strip() == \
        'Some One <some@one.example>|Some One <some@one.example>'
    message = git(fx, 'log', '-1', '--format=%B', commit)
    assert 'a.txt' in message and 'link' in message
    with Mount(fx.path) as mnt:  # default: the repository's identity (user.name of the config)
        with open(mnt.path('work', 'b.txt'), 'w') as f:
            f.write('b\n')
        commit = sync(mnt)
    assert git(fx, 'log', '-1', '--format=%an <%ae>', commit).strip() == 'U Ser <user@example.com>'


def test_pending_changes_survive_sigkill(fx):
    before = head(fx)
    mnt = Mount(fx.path)
    mnt.__enter__()
    try:
        with open(mnt.path('work', 'survivor.txt'), 'w') as f:
            f.write('still here\n')
        os.unlink(mnt.path('work', 'README.md'))
        mnt.proc.send_signal(signal.SIGKILL)
        mnt.proc.wait()
    finally:
        unmount(mnt.mnt)
        os.rmdir(mnt.mnt)
    assert head(fx) == before
    with Mount(fx.path) as again:
        w = again.path('work')
        with open(os.path.join(w, 'survivor.txt')) as f:
            assert f.read() == 'still here\n'
        assert not os.path.exists(os.path.join(w, 'README.md'))
        assert sorted(status(again)) == ['A  survivor.txt', 'D  README.md']
        commit = sync(again)
    assert changed(fx, commit) == {'survivor.txt': 'A', 'README.md': 'D'}
    fsck(fx)


def test_branch_moved_elsewhere_no_overlap(fx):
    r = Outside(fx, 300)
    with Mount(fx.path) as mnt:
        with open(mnt.path('work', 'mine.txt'), 'w') as f:
            f.write('mine\n')
        r.write('theirs.txt', 'theirs\n')
        theirs = r.commit('made outside the mount')
        commit = sync(mnt)
        assert git(fx, 'rev-parse', commit + '^').strip() == theirs
        assert head(fx) == commit
        # work/ now shows both
        wait_for(lambda: os.path.exists(mnt.path('work', 'theirs.txt')), 2, 'their file in work/')
    assert changed(fx, commit) == {'mine.txt': 'A'}
    fsck(fx)


def test_branch_moved_with_overlap_goes_to_a_conflict_branch(fx):
    r = Outside(fx, 400)
    with Mount(fx.path) as mnt:
        with open(mnt.path('work', 'README.md'), 'w') as f:
            f.write('my readme\n')
        r.write('README.md', 'their readme\n')
        theirs = r.commit('their readme')
        commit = sync(mnt)
        assert head(fx) == theirs, 'the branch is left alone'
        conflicts = git(fx, 'for-each-ref', '--format=%(refname)', 'refs/heads/ugitfs/conflict/main/').split()
        assert len(conflicts) == 1 and head(fx, conflicts[0]) == commit
        assert show(fx, commit, 'README.md') == b'my readme\n'
        st = status(mnt)
        assert st and st[0].startswith('## ugitfs/conflict/main/') and 'main' in st[0]
        with open(mnt.path('work', 'README.md')) as f:
            assert f.read() == 'my readme\n', 'work/ keeps what the user wrote'
        # resolving: merge the conflict branch into main; work/ comes back to main
        r.git('fetch', '-q', 'origin', conflicts[0])
        r.git('merge', '-q', '-X', 'theirs', '--no-edit', 'FETCH_HEAD')
        r.git('push', '-q', 'origin', 'HEAD:main')
        merged = head(fx)
        wait_for(lambda: status(mnt) == [] and sync(mnt) == 'nothing to commit', 5, 'work/ to settle')
        with open(mnt.path('work', 'new-after.txt'), 'w') as f:
            f.write('after the merge\n')
        after = sync(mnt)
    assert git(fx, 'rev-parse', after + '^').strip() == merged
    assert head(fx) == after
    fsck(fx)


def test_work_follows_the_branch_when_nothing_is_pending(fx):
    r = Outside(fx, 500)
    with Mount(fx.path) as mnt:
        assert not os.path.exists(mnt.path('work', 'outside.txt'))
        r.write('outside.txt', 'from outside\n')
        r.commit('outside')
        wait_for(lambda: os.path.exists(mnt.path('work', 'outside.txt')), 2, 'work/ to follow main')
        with open(mnt.path('work', 'outside.txt')) as f:
            assert f.read() == 'from outside\n'


def test_branch_option_and_unborn_branch(tmp_path):
    r = fixtures.Repo(tmp_path / 'fresh', bare=True)
    fx = fixtures.bare_fixture('fresh', r.path)
    with Mount(fx.path) as mnt:  # HEAD names main, which has no commit yet
        assert os.listdir(mnt.path('work')) == []
        with open(mnt.path('work', 'first.txt'), 'w') as f:
            f.write('first\n')
        commit = sync(mnt, 'root commit')
    assert git(fx, 'rev-list', '--parents', '-1', commit).split() == [commit]
    r.git('branch', 'other')
    with Mount(fx.path, ['branch=other']) as mnt:
        with open(mnt.path('work', 'second.txt'), 'w') as f:
            f.write('second\n')
        commit2 = sync(mnt)
    assert head(fx, 'other') == commit2 and head(fx, 'main') == commit
    fsck(fx)


def test_disk_full_loses_nothing(tmp_path):
    """The repository on a small tmpfs: a sync that hits ENOSPC fails, keeps everything, and works later."""
    disk = tmp_path / 'disk'
    disk.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', str(disk)], check=True)
    try:
        r = fixtures.Repo(disk / 'repo')
        r.write('small.txt', 'small\n')
        first = r.commit('first')
        r.git('checkout', '-q', '--detach')  # main checked out nowhere: it may be work/'s branch
        fx = fixtures._fixture('disk', r)
        payload = os.urandom(900 * 1024)
        with Mount(fx.path, ['branch=main']) as mnt:
            with open(mnt.path('work', 'big.bin'), 'wb') as f:
                f.write(payload)
            filler = disk / 'filler'
            with open(filler, 'wb') as f:  # fill the disk but a little
                try:
                    while True:
                        f.write(b'\0' * 65536)
                        f.flush()
                except OSError:
                    pass
            os.truncate(filler, max(0, os.path.getsize(filler) - 200 * 1024))
            p = run_ugitfs('--sync', mnt.mnt)
            assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p
            assert head(fx) == first, 'the branch did not move'
            with open(mnt.path('work', 'big.bin'), 'rb') as f:
                assert f.read() == payload
            assert status(mnt) == ['A  big.bin']
            os.unlink(filler)
            commit = sync(mnt)
        assert show(fx, commit, 'big.bin') == payload
        fsck(fx)
    finally:
        unmount(str(disk / 'repo'))
        subprocess.run(['umount', '-l', str(disk)], check=False)


def test_git_apply_in_work(fx, tmp_path):
    patch = tmp_path / 'p.diff'
    patch.write_text('--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,3 @@\n hello\n world\n+patched\n')
    with Mount(fx.path) as mnt:
        subprocess.run(['git', 'apply', str(patch)], cwd=mnt.path('work'), check=True,
                       env=dict(os.environ, GIT_DIR=os.path.join(tempfile.gettempdir(), 'none')))
        commit = sync(mnt)
    assert show(fx, commit, 'README.md') == b'hello\nworld\npatched\n'


def test_state_lives_in_the_repository(fx):
    with Mount(fx.path) as mnt:
        with open(mnt.path('work', 'pending.txt'), 'w') as f:
            f.write('x')
        state = os.path.join(fx.gitdir, 'ugitfs', 'work', 'main')
        assert os.path.isdir(state)
        assert os.path.exists(os.path.join(state, 'upper', 'pending.txt'))


def test_unchanged_copies_do_not_undo_the_branch(fx):
    """A file copied up but not changed (touch) must not hide what the branch does to it later."""
    r = Outside(fx, 600)
    with Mount(fx.path) as mnt:
        w = mnt.path('work')
        subprocess.run(['touch', os.path.join(w, 'README.md')], check=True)
        assert status(mnt) == []
        r.write('README.md', 'changed outside, nothing pending\n')
        r.commit('outside 1')
        wait_for(lambda: open(os.path.join(w, 'README.md')).read() == 'changed outside, nothing pending\n', 2,
                 'work/ to follow main')
        # again, with a pending change elsewhere: the sync goes on top of the new tip
        subprocess.run(['touch', os.path.join(w, 'README.md')], check=True)
        with open(os.path.join(w, 'mine.txt'), 'w') as f:
            f.write('mine\n')
        r.write('README.md', 'changed outside again\n')
        theirs = r.commit('outside 2')
        commit = sync(mnt)
        assert git(fx, 'rev-parse', commit + '^').strip() == theirs
        assert changed(fx, commit) == {'mine.txt': 'A'}
        wait_for(lambda: open(os.path.join(w, 'README.md')).read() == 'changed outside again\n', 2,
                 'their README in work/')
        assert status(mnt) == []
    fsck(fx)


def test_one_working_view_per_branch(fx, tmp_path):
    second = tmp_path / 'second'
    second.mkdir()
    with Mount(fx.path) as mnt:
        p = run_ugitfs('-f', fx.path, str(second), timeout=60)
        assert p.returncode != 0 and not is_mounted(str(second))
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "branch 'main'" in lines[0] and 'another ugitfs mount' in lines[0], p.stderr
        with Mount(fx.path, ['ro'], mountpoint=str(second)):  # read-only views may be many
            pass
        with open(mnt.path('work', 'still.txt'), 'w') as f:
            f.write('the first mount works on\n')
        assert sync(mnt)
