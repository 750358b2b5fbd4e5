"""Folder renames in work/: every file moves with its folder, at any depth, with or without pending changes."""

import errno
import os
import subprocess

import pytest

import fixtures
from mounting import Mount, run_ugitfs

BASE = {
    'top/sub/x': 'x\n',
    'top/sub/z': 'z\n',
    'top/sub/deep/d': 'd\n',
    'top/sub/deep/er/e': 'e\n',
    'top/y': 'y\n',
    'other/o': 'o\n',
    'readme': 'r\n',
}


def make_repo(tmp_path, files):
    """A bare repository whose branch main holds files (a bare one has no checkout to guard)."""
    src = fixtures.Repo(tmp_path / 'src')
    for path, data in files.items():
        src.write(path, data)
    src.commit('base')
    bare = str(tmp_path / 'repo.git')
    fixtures.run_git(['clone', '-q', '--bare', src.path, bare])
    return bare


def git(repo, *args):
    return fixtures.run_git(['--git-dir', repo, *args]).decode('utf-8', 'surrogateescape')


def work_files(mnt):
    """Every file of work/ as {path: content}."""
    top = mnt.path('work')
    out = {}
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full) as f:
                out[os.path.relpath(full, top)] = f.read()
    return out


def branch_files(repo, ref='main'):
    out = {}
    for line in git(repo, 'ls-tree', '-r', ref).splitlines():
        meta, path = line.split('\t', 1)
        out[path] = git(repo, 'cat-file', 'blob', meta.split()[2])
    return out


def expected_status(base, model):
    lines = ['A  ' + p for p in model if p not in base]
    lines += ['M  ' + p for p in model if p in base and model[p] != base[p]]
    lines += ['D  ' + p for p in base if p not in model]
    return sorted(lines)


def status(mnt):
    p = run_ugitfs('--status', mnt.mnt)
    assert p.returncode == 0, p.stderr
    return sorted(p.stdout.splitlines())


def sync(mnt):
    p = run_ugitfs('--sync', mnt.mnt)
    assert p.returncode == 0, p.stderr


def fsck(repo):
    p = subprocess.run(['git', '--git-dir', repo, 'fsck', '--strict', '--no-progress'],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def moved(model, src, dst):
    out = {}
    for path, data in model.items():
        if path.startswith(src + '/'):
            path = dst + path[len(src):]
        out[path] = data
    return out


def check(repo, mnt, model, base=BASE):
    """work/, --status (against base, the branch's files) and, after a sync, the branch hold exactly model."""
    assert work_files(mnt) == model
    assert status(mnt) == expected_status(base, model)
    sync(mnt)
    assert branch_files(repo) == model
    assert status(mnt) == []
    assert work_files(mnt) == model


# Pending changes made before the rename, each with its effect on the model.
def no_change(w, model):
    return model


def appended(w, model):
    with open(os.path.join(w, 'top/sub/x'), 'a') as f:
        f.write('more\n')
    return {**model, 'top/sub/x': 'x\nmore\n'}


def added(w, model):
    os.makedirs(os.path.join(w, 'top/sub/deep/new'))
    with open(os.path.join(w, 'top/sub/deep/new/n'), 'w') as f:
        f.write('n\n')
    return {**model, 'top/sub/deep/new/n': 'n\n'}


def deleted(w, model):
    os.unlink(os.path.join(w, 'top/sub/z'))
    subprocess.run(['rm', '-r', os.path.join(w, 'top/sub/deep/er')], check=True)
    return {p: d for p, d in model.items() if p != 'top/sub/z' and not p.startswith('top/sub/deep/er/')}


def renamed_inside(w, model):
    os.rename(os.path.join(w, 'top/sub/deep'), os.path.join(w, 'top/deep2'))
    return moved(model, 'top/sub/deep', 'top/deep2')


CHANGES = [no_change, appended, added, deleted, renamed_inside]
# (folder, new name): from the top, from depth 2 and 3, to a shallower and a deeper place.
RENAMES = [('top', 'top2'), ('top/sub', 'sub2'), ('top/sub', 'top/sub2'), ('top', 'other/top')]


@pytest.mark.parametrize('change', CHANGES, ids=lambda c: c.__name__)
@pytest.mark.parametrize('src,dst', RENAMES, ids=lambda v: v.replace('/', '.'))
def test_folder_rename_keeps_every_file(tmp_path, change, src, dst):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        w = mnt.path('work')
        model = change(w, dict(BASE))
        os.rename(os.path.join(w, src), os.path.join(w, dst))
        model = moved(model, src, dst)
        check(repo, mnt, model)
    fsck(repo)


@pytest.mark.parametrize('target', ['new-empty', 'base-emptied'])
def test_folder_rename_onto_an_empty_folder(tmp_path, target):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        w = mnt.path('work')
        model = dict(BASE)
        if target == 'new-empty':
            dst = 'dst'
            os.mkdir(os.path.join(w, dst))
        else:  # a committed folder whose files were all deleted
            dst = 'other'
            os.unlink(os.path.join(w, 'other/o'))
            del model['other/o']
        subprocess.run(['mv', '-T', os.path.join(w, 'top'), os.path.join(w, dst)], check=True)
        model = moved(model, 'top', dst)
        assert not os.path.exists(os.path.join(w, 'top'))
        check(repo, mnt, model)
    fsck(repo)


def test_folder_renamed_twice_and_back(tmp_path):
    repo = make_repo(tmp_path, BASE)
    with Mount(repo) as mnt:
        w = mnt.path('work')
        model = appended(w, dict(BASE))
        os.rename(os.path.join(w, 'top'), os.path.join(w, 'a'))
        os.rename(os.path.join(w, 'a/sub'), os.path.join(w, 'b'))
        os.rename(os.path.join(w, 'a'), os.path.join(w, 'top'))
        model = moved(model, 'top/sub', 'b')
        check(repo, mnt, model)
        synced = dict(model)
        os.rename(os.path.join(w, 'b'), os.path.join(w, 'top/sub'))
        model = moved(model, 'b', 'top/sub')
        check(repo, mnt, model, synced)
    fsck(repo)


def tree_bomb(repo, levels):
    """A commit on main whose tree names one subtree twice per level: 2**levels files."""
    p = subprocess.run(['git', '--git-dir', repo, 'hash-object', '-w', '--stdin'], input=b'leaf\n',
                       capture_output=True, check=True)
    blob = p.stdout.decode().strip()
    tree = fixtures.run_git(['--git-dir', repo, 'mktree'],
                            input=('100644 blob %s\tf\n' % blob).encode()).decode().strip()
    for _ in range(levels):
        tree = fixtures.run_git(['--git-dir', repo, 'mktree'],
                                input=('040000 tree %s\ta\n040000 tree %s\tb\n' % (tree, tree)).encode()
                                ).decode().strip()
    top = fixtures.run_git(['--git-dir', repo, 'ls-tree', 'main']).decode()
    top += '040000 tree %s\tbomb\n' % tree
    root = fixtures.run_git(['--git-dir', repo, 'mktree'], input=top.encode()).decode().strip()
    parent = git(repo, 'rev-parse', 'main').strip()
    commit = fixtures.run_git(['--git-dir', repo, 'commit-tree', root, '-p', parent, '-m', 'bomb']).decode().strip()
    git(repo, 'update-ref', 'refs/heads/main', commit)
    return commit


def test_renaming_a_huge_folder_is_refused_and_keeps_everything(tmp_path):
    repo = make_repo(tmp_path, BASE)
    tree_bomb(repo, 22)  # 4 million files
    with Mount(repo) as mnt:
        w = mnt.path('work')
        model = appended(w, dict(BASE))
        with pytest.raises(OSError) as e:
            os.rename(os.path.join(w, 'bomb'), os.path.join(w, 'bomb2'))
        assert e.value.errno == errno.EXDEV
        assert os.path.isdir(os.path.join(w, 'bomb/a/b/a/a'))
        assert not os.path.exists(os.path.join(w, 'bomb2'))
        assert status(mnt) == ['M  top/sub/x']
        assert sum('too large to rename' in line for line in mnt.output().splitlines()) == 1
        # a small folder still renames
        os.rename(os.path.join(w, 'top'), os.path.join(w, 'top2'))
        model = moved(model, 'top', 'top2')
        assert status(mnt) == expected_status(BASE, model)
