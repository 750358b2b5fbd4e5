"""POSIX details of work/ as on a local file system: modes after the caller's umask, deep paths, long names,
unlinked open files, and no symlink a user made is ever followed by the daemon."""

import errno
import os
import stat
import subprocess
import sys

import pytest

from mounting import Mount, run_ugitfs
from test_work_rename import branch_files, fsck, git, make_repo, status, sync, work_files

BASE = {'top/sub/x': 'x\n', 'readme': 'r\n'}


def make_in(folder, mask):
    """mkdir d and create f (asking 0777 and 0666) in folder, under umask mask, from another process."""
    code = ("import os; os.umask(%d); os.mkdir('d', 0o777); "
            "os.close(os.open('f', os.O_CREAT | os.O_WRONLY, 0o666))" % mask)
    subprocess.run([sys.executable, '-c', code], cwd=folder, check=True)
    return (stat.S_IMODE(os.stat(os.path.join(folder, 'd')).st_mode),
            stat.S_IMODE(os.stat(os.path.join(folder, 'f')).st_mode))


@pytest.mark.parametrize('mask,modes', [(0, (0o777, 0o666)), (0o022, (0o755, 0o644)), (0o077, (0o700, 0o600))])
def test_new_entries_get_the_mode_asked_after_the_callers_umask(tmp_path, mask, modes):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        folder = mnt.path('work', 'top')
        assert make_in(folder, mask) == modes


def test_special_bits_show_while_pending(tmp_path):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        w = mnt.path('work')
        old = os.umask(0)
        try:
            os.mkdir(os.path.join(w, 'sticky'), 0o1777)
            os.close(os.open(os.path.join(w, 'suid'), os.O_CREAT | os.O_WRONLY, 0o4755))
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(os.path.join(w, 'sticky')).st_mode) == 0o1777
        assert stat.S_IMODE(os.stat(os.path.join(w, 'suid')).st_mode) == 0o4755
        sync(mnt)
    assert '100755 blob' in git(repo, 'ls-tree', 'main', 'suid')  # only the executable bit is recorded


NAME = 250
DEPTH = 40


def deep_names(tag):
    return ['%s%02d' % (tag, i) + 'n' * (NAME - len(tag) - 2) for i in range(DEPTH)]


def open_deep(top, names, create):
    """A descriptor of the folder top/names[0]/.../names[-1], walked one step at a time."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for name in names:
        if create:
            os.mkdir(name, dir_fd=fd)
        nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    return fd


def test_deep_paths_are_created_renamed_and_removed(tmp_path):
    repo = make_repo(tmp_path, BASE)
    names = deep_names('a')
    with Mount(repo) as mnt:
        w = mnt.path('work')
        fd = open_deep(w, names, True)
        f = os.open('leaf', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(f, b'deep\n')
        os.close(f)
        os.rename('leaf', 'leaf2', src_dir_fd=fd, dst_dir_fd=fd)
        os.close(fd)
        # rename the folder at depth 20 (everything below moves with it)
        parent = open_deep(w, names[:19], False)
        os.rename(names[19], 'moved', src_dir_fd=parent, dst_dir_fd=parent)
        os.close(parent)
        path = '/'.join(names[:19] + ['moved'] + names[20:] + ['leaf2'])
        assert status(mnt) == ['A  ' + path]
        sync(mnt)
        assert branch_files(repo) == {**BASE, path: 'deep\n'}
        # and remove it all, deepest first
        fds = [os.open(w, os.O_RDONLY | os.O_DIRECTORY)]
        for name in names[:19] + ['moved'] + names[20:]:
            fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        os.unlink('leaf2', dir_fd=fds[-1])
        chain = names[:19] + ['moved'] + names[20:]
        for i in range(len(chain) - 1, -1, -1):
            os.close(fds.pop())
            os.rmdir(chain[i], dir_fd=fds[-1])
        os.close(fds.pop())
        assert status(mnt) == ['D  ' + path]
        sync(mnt)
        assert branch_files(repo) == BASE
        assert sorted(os.listdir(w)) == ['readme', 'top']
    fsck(repo)


def test_a_name_over_255_bytes_is_enametoolong(tmp_path):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        long = mnt.path('work', 'n' * 256)
        for call in (os.stat, os.lstat, lambda p: open(p, 'w'), os.mkdir):
            with pytest.raises(OSError) as e:
                call(long)
            assert e.value.errno == errno.ENAMETOOLONG
        os.stat(mnt.path('work', 'top'))
        with open(mnt.path('work', 'n' * 255), 'w') as f:  # 255 is fine
            f.write('x')


def test_an_unlinked_open_file_has_no_links(tmp_path):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        p = mnt.path('work', 'open')
        with open(p, 'w+') as f:
            f.write('data')
            f.flush()
            assert os.fstat(f.fileno()).st_nlink == 1
            os.unlink(p)
            assert os.fstat(f.fileno()).st_nlink == 0
            f.seek(0)
            assert f.read() == 'data'
        with open(mnt.path('work', 'readme')) as f:  # a committed file, unlinked while open
            os.unlink(mnt.path('work', 'readme'))
            assert os.fstat(f.fileno()).st_nlink == 0
            assert f.read() == 'r\n'
        with open(mnt.path('work', 'top/sub/x'), 'r+') as f:  # and one written after
            os.unlink(mnt.path('work', 'top/sub/x'))
            f.seek(0, 2)
            f.write('more\n')
            f.flush()
            f.seek(0)
            assert f.read() == 'x\nmore\n'
            assert os.fstat(f.fileno()).st_nlink == 0
        assert status(mnt) == ['D  readme', 'D  top/sub/x']
        with open(mnt.path('work', 'new'), 'w') as f:
            f.write('new\n')
        with open(mnt.path('work', 'top/y'), 'w') as f:
            f.write('y\n')
        sync(mnt)
        with open(mnt.path('work', 'top/y')) as f:  # a committed file replaced by a rename while open
            os.rename(mnt.path('work', 'new'), mnt.path('work', 'top/y'))
            assert f.read() == 'y\n'
            assert os.fstat(f.fileno()).st_nlink == 0


def snapshot(folder):
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[os.path.relpath(full, folder)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def test_the_daemon_never_follows_a_users_symlink(tmp_path):
    outside = tmp_path / 'outside'
    (outside / 'sub').mkdir(parents=True)
    (outside / 'victim').write_text('untouched\n')
    before = snapshot(outside)
    repo = make_repo(tmp_path, {**BASE, 'top/sub/deep/y': 'y\n'})
    with Mount(repo) as mnt:
        w = mnt.path('work')
        os.symlink(str(outside), os.path.join(w, 'top', 'sub', 'out'))
        os.symlink('../../../../../../../../../../../../..' + str(outside) + '/victim', os.path.join(w, 'rel'))
        # a folder holding the links, renamed (copied up whole first), then renamed back
        os.rename(os.path.join(w, 'top'), os.path.join(w, 'top2'))
        os.rename(os.path.join(w, 'top2', 'sub'), os.path.join(w, 'sub2'))
        # changes of the links' own attributes act on the links
        os.utime(os.path.join(w, 'sub2', 'out'), (1000, 1000), follow_symlinks=False)
        os.utime(os.path.join(w, 'rel'), (1000, 1000), follow_symlinks=False)
        # replace a committed folder by a link: nothing of it is reached through the link
        subprocess.run(['rm', '-r', os.path.join(w, 'sub2', 'deep')], check=True)
        os.symlink(str(outside / 'sub'), os.path.join(w, 'sub2', 'deep'))
        sync(mnt)
        assert os.readlink(os.path.join(w, 'sub2', 'out')) == str(outside)
        assert git(repo, 'cat-file', 'blob', 'main:sub2/out') == str(outside)
        assert git(repo, 'cat-file', 'blob', 'main:sub2/deep') == str(outside / 'sub')
        files = work_files(mnt)
        assert 'sub2/x' in files
    assert snapshot(outside) == before
    assert (outside / 'victim').read_text() == 'untouched\n'
    fsck(repo)


def test_a_folder_swapped_for_a_symlink_in_the_state_folder_is_not_followed(tmp_path):
    """What a race between two requests could leave for an instant (a folder of upper/ replaced
    by a symlink to elsewhere), made directly: the daemon's writes through open files, renames
    and syncs do not pass through it."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'f').write_text('untouched\n')
    before = snapshot(outside)
    repo = make_repo(tmp_path, BASE)
    upper = os.path.join(repo, 'ugitfs', 'work', 'main', 'upper')
    with Mount(repo) as mnt:
        w = mnt.path('work')
        os.mkdir(os.path.join(w, 'd'))
        fd = os.open(os.path.join(w, 'd', 'f'), os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b'mine\n')
            os.rename(os.path.join(upper, 'd'), os.path.join(upper, 'd.real'))
            os.symlink(str(outside), os.path.join(upper, 'd'))
            with pytest.raises(OSError):
                os.write(fd, b'through the link\n')
        finally:
            os.close(fd)
        with pytest.raises(OSError):
            os.rename(os.path.join(w, 'd', 'f'), os.path.join(w, 'd', 'g'))
        with pytest.raises(OSError):
            with open(os.path.join(w, 'd', 'new'), 'w') as f:
                f.write('x')
        run_ugitfs('--sync', mnt.mnt)
        assert 'd/f' not in branch_files(repo)
    assert snapshot(outside) == before
