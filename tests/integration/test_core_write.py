"""What the core writes (objects, trees, commits, refs) git reads, logs and accepts under fsck --strict."""

import hashlib
import os
import random
import re
import stat
import subprocess

import pytest

import fixtures
from conftest import ugtool

ZERO = {'sha1': '0' * 40, 'sha256': '0' * 64}


def fsck(fx):
    """git fsck --strict must be silent about errors and warnings."""
    p = subprocess.run(['git', *fx.git_args, 'fsck', '--strict', '--no-dangling', '--no-progress'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = (p.stdout + p.stderr).decode(errors='replace')
    assert p.returncode == 0 and not re.search(r'error|warning|missing|broken', text), text


def loose_path(fx, oid):
    common = fx.facts.get('commondir', fx.gitdir)
    return os.path.join(common, 'objects', oid[:2], oid[2:])


def rev(fx, name):
    return fx.git('rev-parse', '--verify', '-q', name).decode().strip()


def check_loose_file(fx, oid):
    path = loose_path(fx, oid)
    st = os.stat(path)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o444, '%s has mode %o' % (path, stat.S_IMODE(st.st_mode))
    # nothing but finished objects next to it (no temporary files left behind)
    for name in os.listdir(os.path.dirname(path)):
        assert re.fullmatch('[0-9a-f]{%d}' % (len(oid) - 2), name), 'stray file ' + name


CONTENTS = [b'', b'hello\n', b'no newline', b'\0binary\0\xff\xfe' * 100,
            bytes(random.Random(3).getrandbits(8) for _ in range(300000))]


@pytest.mark.parametrize('kind', ['loose', 'sha256'])
def test_hash_object(fresh, tmp_path, kind):
    fx = fresh(kind)
    for i, data in enumerate(CONTENTS):
        f = tmp_path / ('content%d' % i)
        f.write_bytes(data)
        want = fx.git('hash-object', str(f)).decode().strip()
        existed = subprocess.run(['git', *fx.git_args, 'cat-file', '-e', want]).returncode == 0
        assert ugtool(fx.path, 'hash-object', f).out.decode().strip() == want
        if not existed:
            assert not os.path.exists(loose_path(fx, want)), 'hash-object without -w wrote'
        got = ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip()
        assert got == want
        assert fx.git('cat-file', '-p', want) == data
        assert fx.git('cat-file', '-t', want) == b'blob\n'
        if not existed:
            check_loose_file(fx, want)
    fsck(fx)


def test_hash_object_types(fresh, tmp_path):
    fx = fresh('loose')
    tree = fx.git('cat-file', 'tree', 'HEAD^{tree}')
    commit = fx.git('cat-file', 'commit', 'HEAD')
    for otype, data in (('tree', tree), ('commit', commit)):
        f = tmp_path / otype
        f.write_bytes(data)
        want = fx.git('hash-object', '-t', otype, str(f)).decode().strip()
        assert ugtool(fx.path, 'hash-object', '-t', otype, f).out.decode().strip() == want


def test_write_existing_is_noop(fresh, tmp_path):
    fx = fresh('loose')
    f = tmp_path / 'data'
    f.write_bytes(b'written twice\n')
    oid = ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip()
    before = os.stat(loose_path(fx, oid))
    assert ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip() == oid
    after = os.stat(loose_path(fx, oid))
    assert (before.st_ino, before.st_mtime_ns, before.st_size) == \
        (after.st_ino, after.st_mtime_ns, after.st_size)


def test_write_packed_object_makes_no_loose_copy(fresh, tmp_path):
    fx = fresh('packed')
    data = fx.git('cat-file', 'blob', 'HEAD~1:README.md')
    oid = rev(fx, 'HEAD~1:README.md')
    assert not os.path.exists(loose_path(fx, oid)), 'fixture: that blob should be packed'
    f = tmp_path / 'readme'
    f.write_bytes(data)
    assert ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip() == oid
    assert not os.path.exists(loose_path(fx, oid))


@pytest.mark.parametrize('kind', ['packed', 'odd_names', 'sha256'])
def test_mktree_same_ids_as_git(fresh, kind):
    fx = fresh(kind)
    trees = fx.git_lines('rev-list', '--objects', '--all', '--no-object-names')
    out = fx.git('cat-file', '--batch-check', input=('\n'.join(trees) + '\n').encode()).decode()
    trees = [l.split(' ')[0] for l in out.splitlines() if l.split(' ')[1] == 'tree']
    assert trees
    for t in trees:
        listing = fx.git('ls-tree', '-z', t)
        assert ugtool(fx.path, 'mktree', '-z', input=listing).out.decode().strip() == t
        # shuffled input: the core sorts as git does
        entries = [e for e in listing.split(b'\0') if e]
        random.Random(t).shuffle(entries)
        shuffled = b''.join(e + b'\0' for e in entries)
        assert ugtool(fx.path, 'mktree', '-z', input=shuffled).out.decode().strip() == t
        # git's quoted lines (not -z) too
        quoted = fx.git('ls-tree', t)
        assert ugtool(fx.path, 'mktree', input=quoted).out.decode().strip() == t
    fsck(fx)


def test_mktree_sort_order(fresh):
    """git's order: a tree sorts as if its name ended in "/"."""
    fx = fresh('loose')
    blob = rev(fx, 'HEAD:README.md')
    tree = rev(fx, 'HEAD:src')
    names = [('a', 'tree'), ('a.b', 'blob'), ('a-b', 'blob'), ('a0', 'blob'), ('ab', 'tree'),
             ('a.', 'blob'), ('b', 'blob'), ('a/', None)]
    lines = []
    for name, otype in names:
        if otype:
            mode = '040000' if otype == 'tree' else '100644'
            lines.append('%s %s %s\t%s\n' % (mode, otype, tree if otype == 'tree' else blob, name))
    stdin = ''.join(reversed(lines)).encode()
    want = fx.git('mktree', input=stdin).decode().strip()
    assert ugtool(fx.path, 'mktree', input=stdin).out.decode().strip() == want
    assert fx.git('cat-file', '-t', want) == b'tree\n'
    fsck(fx)


def test_mktree_duplicate_names(fresh):
    fx = fresh('loose')
    blob = rev(fx, 'HEAD:README.md')
    stdin = ('100644 blob %s\tsame\n100644 blob %s\tsame\n' % (blob, blob)).encode()
    r = ugtool(fx.path, 'mktree', input=stdin, check=False)
    assert r.rc == 6, r


def commit_of(fx, tree, parents, msg):
    args = ['commit-tree', tree]
    for p in parents:
        args += ['-p', p]
    return ugtool(fx.path, *args, '-m', msg).out.decode().strip()


@pytest.mark.parametrize('kind', ['packed', 'sha256', 'worktree', 'bare_noconfig'])
def test_commit_and_update_ref(fresh, kind):
    fx = fresh(kind)
    branch = 'refs/heads/' + ('wt' if kind == 'worktree' else 'main')
    old = rev(fx, branch)
    tree = rev(fx, old + '^{tree}')
    new = commit_of(fx, tree, [old], 'made by ugtool')
    text = fx.git('cat-file', '-p', new).decode()
    assert text.startswith('tree %s\nparent %s\n' % (tree, old)), text
    assert re.search(r'^author A U Thor <author@example.com> \d+ [+-]\d{4}$', text, re.M), text
    assert re.search(r'^committer C O Mitter <committer@example.com> \d+ [+-]\d{4}$', text, re.M)
    assert text.endswith('\n\nmade by ugtool\n'), text
    ugtool(fx.path, 'update-ref', branch, new, old)
    assert rev(fx, branch) == new
    assert fx.git_lines('log', '--format=%H', '-2', branch) == [new, old]
    reflog = fx.git_lines('reflog', 'show', '--format=%H', branch)
    assert reflog and reflog[0] == new, reflog
    fsck(fx)
    if kind == 'worktree':
        # the branch lives in the common directory: the main work tree sees it
        main = fixtures.Fixture('x', fx.facts['main_path'], fx.facts['commondir'],
                                ['-C', fx.facts['main_path']])
        assert rev(main, branch) == new


def test_root_and_merge_commits(fresh):
    fx = fresh('loose')
    tree = rev(fx, 'HEAD^{tree}')
    root = commit_of(fx, tree, [], 'a root commit')
    assert 'parent' not in fx.git('cat-file', '-p', root).decode()
    a, b = rev(fx, 'main'), rev(fx, 'topic')
    merge = commit_of(fx, tree, [a, b], 'a merge\n\nwith a body')
    assert fx.git_lines('rev-list', '--parents', '-1', merge) == ['%s %s %s' % (merge, a, b)]
    assert fx.git('cat-file', 'commit', merge).endswith(b'\n\na merge\n\nwith a body\n')
    ugtool(fx.path, 'update-ref', 'refs/heads/merged', merge, ZERO[fx.algo])
    assert rev(fx, 'merged') == merge
    for oid in (root, merge):
        check_loose_file(fx, oid)
    fsck(fx)


def test_update_ref_stale_old_is_refused(fresh):
    fx = fresh('loose')
    main = rev(fx, 'main')
    stale = rev(fx, 'main~1')
    new = commit_of(fx, rev(fx, 'main^{tree}'), [main], 'never lands')
    reflog = fx.git('reflog', 'show', 'main')
    r = ugtool(fx.path, 'update-ref', 'refs/heads/main', new, stale, check=False)
    assert r.rc == 9, r
    assert len(r.errors) == 1, r
    assert rev(fx, 'main') == main
    assert fx.git('reflog', 'show', 'main') == reflog
    assert not os.path.exists(os.path.join(fx.gitdir, 'refs', 'heads', 'main.lock'))


def test_update_ref_create_only(fresh):
    fx = fresh('loose')
    main = rev(fx, 'main')
    r = ugtool(fx.path, 'update-ref', 'refs/heads/topic', main, ZERO[fx.algo], check=False)
    assert r.rc == 9, r
    assert rev(fx, 'topic') != main
    ugtool(fx.path, 'update-ref', 'refs/heads/brand/new', main, ZERO[fx.algo])
    assert rev(fx, 'brand/new') == main
    fsck(fx)


def test_held_lock_is_refused(fresh):
    fx = fresh('loose')
    main = rev(fx, 'main')
    new = commit_of(fx, rev(fx, 'main^{tree}'), [main], 'blocked by a lock')
    lock = os.path.join(fx.gitdir, 'refs', 'heads', 'main.lock')
    with open(lock, 'w') as f:
        f.write('held by someone else\n')
    for old in ([main], []):
        r = ugtool(fx.path, 'update-ref', 'refs/heads/main', new, *old, check=False)
        assert r.rc == 9, r
        assert len(r.errors) == 1, r
    assert rev(fx, 'main') == main
    with open(lock) as f:
        assert f.read() == 'held by someone else\n', 'the lock of another writer was touched'


def test_update_packed_only_ref(fresh):
    fx = fresh('packed')
    name = 'refs/heads/' + fx.facts['packed_only_branch']
    assert not os.path.exists(os.path.join(fx.gitdir, name)), 'fixture: ref should be packed'
    old = rev(fx, name)
    new = commit_of(fx, rev(fx, old + '^{tree}'), [old], 'over a packed ref')
    ugtool(fx.path, 'update-ref', name, new, old)
    assert rev(fx, name) == new
    assert ugtool(fx.path, 'rev-parse', name).out.decode().strip() == new
    fx.git('pack-refs', '--all')
    assert rev(fx, name) == new
    fsck(fx)


def test_bad_ref_names_are_refused(fresh):
    fx = fresh('loose')
    main = rev(fx, 'main')
    for name in ('refs/heads/a..b', 'refs/heads/x.lock', 'refs/heads/sp ace', 'refs/heads/',
                 'refs/heads/a//b', 'refs/heads/.hidden', 'refs/heads/end.'):
        r = ugtool(fx.path, 'update-ref', name, main, check=False)
        assert r.rc == 6, r
    fsck(fx)


def test_written_objects_are_read_back(fresh, tmp_path):
    """Round trip through ugtool alone, and through git."""
    fx = fresh('loose')
    f = tmp_path / 'x'
    f.write_bytes(b'round trip\n')
    blob = ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip()
    tree = ugtool(fx.path, 'mktree', input=('100644 blob %s\tx\n' % blob).encode()).out.decode().strip()
    commit = commit_of(fx, tree, [], 'round trip')
    assert ugtool(fx.path, 'cat-file', '-p', blob).out == b'round trip\n'
    assert ugtool(fx.path, 'ls-tree', commit).out == fx.git('ls-tree', commit)
    assert ugtool(fx.path, 'cat-file', '-p', commit).out == fx.git('cat-file', '-p', commit)
    for oid in (blob, tree, commit):
        check_loose_file(fx, oid)


# --- ugit ------------------------------------------------------------------------

def test_ugit_writes(fresh, tmp_path):
    fx = fresh('ugit')
    f = tmp_path / 'data'
    f.write_bytes(b'new in ugit\n')
    blob = ugtool(fx.path, 'hash-object', '-w', f).out.decode().strip()
    assert blob == hashlib.sha1(b'blob\0new in ugit\n').hexdigest()
    with open(os.path.join(fx.gitdir, 'objects', blob), 'rb') as fh:
        assert fh.read() == b'blob\0new in ugit\n'
    master = fx.facts['refs']['refs/heads/master']
    tree = ugtool(fx.path, 'mktree', input=('100644 blob %s\tnew.txt\n' % blob).encode()).out
    tree = tree.decode().strip()
    with open(os.path.join(fx.gitdir, 'objects', tree), 'rb') as fh:
        assert fh.read() == b'tree\0blob %s new.txt\n' % blob.encode()
    commit = ugtool(fx.path, 'commit-tree', tree, '-p', master, '-m', 'ugit commit').out
    commit = commit.decode().strip()
    with open(os.path.join(fx.gitdir, 'objects', commit), 'rb') as fh:
        assert fh.read() == b'commit\0tree %s\nparent %s\n\nugit commit\n' % (
            tree.encode(), master.encode())
    ugtool(fx.path, 'update-ref', 'refs/heads/master', commit, master)
    with open(os.path.join(fx.gitdir, 'refs', 'heads', 'master')) as fh:
        assert fh.read().strip() == commit
    assert ugtool(fx.path, 'log-first-parent', 'HEAD').lines()[:2] == [commit, master]
    r = ugtool(fx.path, 'update-ref', 'refs/heads/master', master, master, check=False)
    assert r.rc == 9, r
