"""A SIGKILL at any step of a sync loses nothing: after a remount work/ shows what was written, and the branch gets it once."""

import contextlib
import os
import signal
import subprocess

import pytest

from mounting import UGITFS, Mount, run_ugitfs, unmount, wait_for
from test_work_rename import branch_files, expected_status, fsck, git, make_repo, status, sync, work_files

BASE = {
    'src/leaf/x': 'x\n',
    'src/keep': 'k\n',
    'm/b/c': 'c\n',
    'other/o': 'o\n',
    'readme': 'r\n',
}

# The named points of a sync where the daemon kills itself (UGITFS_TEST_KILL_AT),
# in the order a sync passes them.
STEPS = ['objects-written', 'syncing-saved', 'ref-moved', 'unchanged-dropped', 'base-saved',
         'tidy-marker', 'tidy-file', 'tidy-folder', 'tidied', 'synced']


def pending_changes(w):
    """A renamed folder, a modified, a new and a deleted file, and an unchanged copy; the model after.
    The renamed folder's file sorts first among the changes: the first upper file a sync removes."""
    os.rename(os.path.join(w, 'src/leaf'), os.path.join(w, 'dst'))
    with open(os.path.join(w, 'm/b/c'), 'a') as f:
        f.write('more\n')
    with open(os.path.join(w, 'n'), 'w') as f:
        f.write('new\n')
    os.unlink(os.path.join(w, 'other/o'))
    os.utime(os.path.join(w, 'readme'), (1000000000, 1000000000))  # copied up, content unchanged
    return {'dst/x': 'x\n', 'src/keep': 'k\n', 'm/b/c': 'c\nmore\n', 'n': 'new\n', 'readme': 'r\n'}


@contextlib.contextmanager
def mount_that_dies(repo, step):
    """A mount whose daemon kills itself at step (the test hook): yields it; what the
    block does must reach the step, and the daemon must then have died of SIGKILL.
    The dead mount is cleaned up whatever happens."""
    mnt = Mount(repo, env={**os.environ, 'UGITFS_TEST_KILL_AT': step})
    mnt.__enter__()
    try:
        yield mnt
        mnt.proc.wait(timeout=20)
        assert mnt.proc.returncode == -signal.SIGKILL, mnt.output()
    finally:
        if mnt.proc.poll() is None:
            mnt.proc.kill()
            mnt.proc.wait()
        unmount(mnt.mnt)
        os.rmdir(mnt.mnt)
        mnt._log.close()
        os.unlink(mnt.log_path)


def killed_sync(repo, step):
    """Mount with the kill hook at step, make the changes, sync: the daemon must die there."""
    with mount_that_dies(repo, step) as mnt:
        model = pending_changes(mnt.path('work'))
        p = run_ugitfs('--sync', mnt.mnt)
        assert p.returncode != 0
    return model


@pytest.mark.parametrize('step', STEPS)
def test_kill_at_each_step_of_a_sync_loses_nothing(tmp_path, step):
    repo = make_repo(tmp_path, BASE)
    before = git(repo, 'rev-parse', 'main').strip()
    model = killed_sync(repo, step)
    moved = git(repo, 'rev-parse', 'main').strip() != before
    with Mount(repo) as mnt:
        assert work_files(mnt) == model
        if moved:
            assert branch_files(repo) == model
            assert status(mnt) == []
        else:
            assert status(mnt) == expected_status(BASE, model)
        sync(mnt)
        assert branch_files(repo) == model
        assert status(mnt) == []
        assert work_files(mnt) == model
    with Mount(repo) as mnt:  # and once more: nothing reappears, nothing is lost
        assert work_files(mnt) == model
        assert status(mnt) == []
    assert git(repo, 'rev-list', '--count', 'main').strip() == '2'
    fsck(repo)


def commit_outside(repo, tmp_path, path, data):
    """A commit on main made with git alone, adding path."""
    blob = subprocess.run(['git', '--git-dir', repo, 'hash-object', '-w', '--stdin'], input=data.encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    env = {**os.environ, 'GIT_INDEX_FILE': str(tmp_path / 'index')}
    subprocess.run(['git', '--git-dir', repo, 'read-tree', 'main'], env=env, check=True)
    subprocess.run(['git', '--git-dir', repo, 'update-index', '--add', '--cacheinfo', '100644,%s,%s' % (blob, path)],
                   env=env, check=True)
    tree = subprocess.run(['git', '--git-dir', repo, 'write-tree'], env=env, capture_output=True,
                          check=True).stdout.decode().strip()
    commit = subprocess.run(['git', '--git-dir', repo, 'commit-tree', tree, '-p', 'main', '-m', 'theirs'],
                            capture_output=True, check=True).stdout.decode().strip()
    git(repo, 'update-ref', 'refs/heads/main', commit)


@pytest.mark.parametrize('step', ['follow-tidied', 'follow-based'])
def test_kill_while_following_a_moved_branch(tmp_path, step):
    """With nothing pending, work/ follows the branch (here at the start of a mount); a kill
    then must not leave markers that hide the branch's new files."""
    repo = make_repo(tmp_path, BASE)
    model = killed_sync(repo, 'base-saved')  # the markers of the renamed folder stay in upper/
    commit_outside(repo, tmp_path, 'dst/t', 'theirs\n')
    model['dst/t'] = 'theirs\n'
    mnt_dir = tmp_path / 'mnt'
    mnt_dir.mkdir()
    p = subprocess.run([UGITFS, '-f', repo, str(mnt_dir)], env={**os.environ, 'UGITFS_TEST_KILL_AT': step},
                       capture_output=True, timeout=60)
    unmount(str(mnt_dir))
    assert p.returncode == -signal.SIGKILL, p.stderr
    with Mount(repo) as mnt:
        assert work_files(mnt) == model
        assert status(mnt) == []
    fsck(repo)


def test_autosync_commits_a_write_made_while_a_sync_finishes(tmp_path):
    """A write landing as an autosync finishes (its lock released, the sync not yet returned:
    held there by UGITFS_TEST_HOLD_AT until the write is done) is committed by a later
    autosync, with no further activity."""
    repo = make_repo(tmp_path, BASE)
    before = git(repo, 'rev-parse', 'main').strip()
    hold = tmp_path / 'hold'
    hold.write_text('')
    env = {**os.environ, 'UGITFS_TEST_HOLD_AT': 'unlocked:%s' % hold}
    with Mount(repo, ['autosync=2'], env=env) as mnt:
        try:
            with open(mnt.path('work', 'first'), 'w') as f:
                f.write('1\n')
            wait_for(lambda: os.path.exists(str(hold) + '.held'), 20, 'the first autosync held as it finishes')
            assert git(repo, 'rev-parse', 'main').strip() != before
            with open(mnt.path('work', 'second'), 'w') as f:  # the sync is still finishing
                f.write('2\n')
            assert 'second' not in branch_files(repo)  # the autosync thread is held: no sync since
        finally:
            hold.unlink()  # go on (after a failure too: the unmount waits for the held thread)
        wait_for(lambda: branch_files(repo).get('second') == '2\n', 20, 'the second write committed')
        assert status(mnt) == []
    fsck(repo)


@pytest.mark.parametrize('step', ['ref-moved', 'unchanged-dropped'])
def test_kill_then_the_branch_moves_on_from_the_sync(tmp_path, step):
    """Killed after the branch took the sync's commit, before the new base was recorded; then a
    commit outside builds on it: the next mount counts the sync as done and follows the branch."""
    repo = make_repo(tmp_path, BASE)
    model = killed_sync(repo, step)
    commit_outside(repo, tmp_path, 'later', 'later\n')
    model['later'] = 'later\n'
    with Mount(repo) as mnt:
        assert work_files(mnt) == model
        assert status(mnt) == []
        w = mnt.path('work')
        with open(os.path.join(w, 'n'), 'a') as f:
            f.write('again\n')
        sync(mnt)
    model['n'] = 'new\nagain\n'
    assert branch_files(repo) == model
    assert git(repo, 'for-each-ref', 'refs/heads/ugitfs').strip() == ''
    fsck(repo)


# The named points inside a rename in work/, in the order it passes them.
RENAME_STEPS = ['rename-copied', 'rename-prepared', 'rename-moved', 'rename-done']


def tree(mnt):
    """All of work/: {path: content} for files, {path/: None} for folders."""
    top = mnt.path('work')
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for name in dirs:
            out[os.path.relpath(os.path.join(dirpath, name), top) + '/'] = None
        for name in files:
            with open(os.path.join(dirpath, name)) as f:
                out[os.path.relpath(os.path.join(dirpath, name), top)] = f.read()
    return out


def files_of(t):
    return {p: c for p, c in t.items() if c is not None}


def new_onto_new_empty(w):
    os.mkdir(os.path.join(w, 'src2'))
    with open(os.path.join(w, 'src2/f'), 'w') as f:
        f.write('f\n')
    os.mkdir(os.path.join(w, 'dst'))
    return 'src2', 'dst'


def new_onto_committed_empty(w):
    """other/ is committed; deleting its only file leaves it showing empty."""
    os.unlink(os.path.join(w, 'other/o'))
    os.mkdir(os.path.join(w, 'src2'))
    with open(os.path.join(w, 'src2/f'), 'w') as f:
        f.write('f\n')
    return 'src2', 'other'


def new_onto_deleted_committed(w):
    """other/ is committed and deleted: a folder renamed to its name must not bring other/o back."""
    os.unlink(os.path.join(w, 'other/o'))
    os.rmdir(os.path.join(w, 'other'))
    os.mkdir(os.path.join(w, 'src2'))
    with open(os.path.join(w, 'src2/f'), 'w') as f:
        f.write('f\n')
    return 'src2', 'other'


def committed_folder(w):
    return 'other', 'other2'


def committed_with_subfolders(w):
    return 'src', 'top2'


def committed_file(w):
    return 'readme', 'readme2'


def committed_onto_committed_file(w):
    return 'readme', 'other/o'


RENAME_CASES = [new_onto_new_empty, new_onto_committed_empty, new_onto_deleted_committed, committed_folder,
                committed_with_subfolders, committed_file, committed_onto_committed_file]


@pytest.mark.parametrize('step', RENAME_STEPS)
@pytest.mark.parametrize('case', RENAME_CASES, ids=lambda c: c.__name__)
def test_kill_inside_a_rename_shows_before_or_after(tmp_path, case, step):
    """A SIGKILL at each step of a rename: after a remount work/ shows the tree before it or
    after it (every folder and file, contents too), status agrees, and a sync commits that."""
    repo = make_repo(tmp_path, BASE)
    with mount_that_dies(repo, step) as mnt:
        w = mnt.path('work')
        src, dst = case(w)
        before = tree(mnt)
        with pytest.raises(OSError):
            os.rename(os.path.join(w, src), os.path.join(w, dst))
    after = {}
    for path, data in before.items():  # the rename done: everything below src is below dst
        if path == src or path.startswith(src + '/'):
            path = dst + path[len(src):]
        elif path == dst or path.startswith(dst + '/'):
            continue
        after[path] = data
    with Mount(repo) as mnt:
        shown = tree(mnt)
        assert shown in (before, after), 'neither before nor after: %r' % shown
        assert status(mnt) == expected_status(BASE, files_of(shown))
        sync(mnt)
        assert branch_files(repo) == files_of(shown)
        assert status(mnt) == []
    with Mount(repo) as mnt:
        assert tree(mnt) == shown
    fsck(repo)
