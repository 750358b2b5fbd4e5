"""Mount the real ugitfs on repositories made by git and check every view that ugitfs(1) describes against git."""

import calendar
import errno
import os
import stat
import subprocess
import time

import pytest

import fixtures
from mounting import Mount, wait_for

GIT_KINDS = ['loose', 'packed', 'deep_deltas', 'ref_deltas', 'large_offsets', 'multi_pack', 'tags',
             'odd_names', 'slash_branches', 'sha256', 'bare_noconfig', 'worktree', 'alternates',
             'detached']

MODES = {'100644': stat.S_IFREG | 0o444, '100755': stat.S_IFREG | 0o555, '120000': stat.S_IFLNK | 0o777,
         '040000': stat.S_IFDIR | 0o555, '160000': stat.S_IFDIR | 0o555}


def ls_tree(fx, commit):
    """{path bytes: (mode, type, oid, size or None)} for every entry, trees included."""
    out = {}
    for rec in fx.git('ls-tree', '-r', '-t', '-l', '-z', commit).split(b'\0'):
        if not rec:
            continue
        meta, path = rec.split(b'\t', 1)
        mode, otype, oid, size = meta.decode().split()
        out[path] = (mode, otype, oid, None if size == '-' else int(size))
    return out


def blobs(fx, oids):
    """{oid: content} through one `git cat-file --batch`."""
    if not oids:
        return {}
    out = fx.git('cat-file', '--batch', input=''.join(o + '\n' for o in oids).encode())
    return {oid: data for oid, _, data in fixtures.parse_batch(out)}


def commit_raw(fx, oid):
    """(headers as [(key, value)], message bytes) of a commit as stored."""
    data = fx.git('cat-file', 'commit', oid)
    head, _, message = data.partition(b'\n\n')
    headers = []
    for line in head.split(b'\n'):
        if line.startswith(b' ') and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + b'\n' + line[1:])
        else:
            key, _, value = line.partition(b' ')
            headers.append((key.decode(), value))
    return headers, message


def committer_time(fx, oid):
    return int(fx.git('log', '-1', '--format=%ct', oid).decode())


def walk(root):
    """{path bytes relative to root: lstat} of everything below root, iteratively."""
    found, todo = {}, [b'']
    broot = os.fsencode(root)
    while todo:
        rel = todo.pop()
        for entry in os.scandir(os.path.join(broot, rel) if rel else broot):
            path = os.path.join(rel, entry.name) if rel else entry.name
            st = os.lstat(os.path.join(broot, path))
            found[path] = st
            if stat.S_ISDIR(st.st_mode):
                todo.append(path)
    return found


def check_snapshot(fx, mnt, commit):
    """commits/COMMIT/ shows exactly `git ls-tree -r -t` of COMMIT, bytes, modes, times, ids."""
    root = mnt.path('commits', commit)
    want = ls_tree(fx, commit)
    got = walk(root)
    assert sorted(got) == sorted(want), 'paths differ for %s' % commit
    when = committer_time(fx, commit)
    contents = blobs(fx, sorted({w[2] for w in want.values() if w[1] == 'blob'}))
    for path, (mode, otype, oid, size) in want.items():
        st = got[path]
        full = os.path.join(os.fsencode(root), path)
        assert st.st_mode == MODES[mode], (path, oct(st.st_mode), mode)
        assert (st.st_mtime, st.st_ctime, st.st_atime) == (when, when, when), path
        assert st.st_uid == os.getuid() and st.st_gid == os.getgid()
        if mode == '120000':  # Linux keeps user.* attributes off symlinks
            assert os.listxattr(full, follow_symlinks=False) == []
        else:
            assert os.getxattr(full, 'user.ugit.oid').decode() == oid
            assert os.getxattr(full, 'user.ugit.mode').decode() == mode.lstrip('0')
        if otype == 'blob':
            assert st.st_size == size, path
            if mode == '120000':
                assert os.readlink(full) == contents[oid], path
            else:
                with open(full, 'rb') as f:
                    assert f.read() == contents[oid], path
        elif mode == '160000':
            assert os.listdir(full) == [], 'a gitlink is an empty folder'
    st = os.stat(root)
    assert st.st_mode == stat.S_IFDIR | 0o555 and st.st_mtime == when


def check_commit_xattrs(fx, mnt, commit):
    path = mnt.path('commits', commit)
    headers, message = commit_raw(fx, commit)
    hdr = dict((k, v) for k, v in headers if k != 'parent')
    parents = [v.decode() for k, v in headers if k == 'parent']
    x = {name: os.getxattr(path, name) for name in os.listxattr(path)}
    assert x['user.ugit.commit'].decode() == commit
    assert x['user.ugit.tree'] == hdr['tree']
    assert x['user.ugit.parents'].decode() == ' '.join(parents)
    assert x['user.ugit.author'] == hdr['author']
    assert x['user.ugit.committer'] == hdr['committer']
    assert x['user.ugit.message'] == message
    assert x['user.ugit.oid'] == hdr['tree'] and x['user.ugit.mode'] == b'40000'


def heads(fx):
    return dict(line.split(' ', 1)[::-1] for line in
                fx.git_lines('for-each-ref', '--format=%(objectname) %(refname:lstrip=2)', 'refs/heads/'))


def links_below(root):
    """{relative name: link target} of every symlink below root (folders for names with /)."""
    return {os.fsdecode(p): os.readlink(os.path.join(root, os.fsdecode(p)))
            for p, st in walk(root).items() if stat.S_ISLNK(st.st_mode)}


def check_refs(fx, mnt):
    want = {name: '../' * (1 + name.count('/')) + 'commits/' + oid for name, oid in heads(fx).items()}
    assert links_below(mnt.path('branches')) == want
    tags = {}
    for line in fx.git_lines('for-each-ref', '--format=%(refname:lstrip=2)', 'refs/tags/'):
        peeled = fx.git('rev-parse', '--verify', '-q', 'refs/tags/%s^{}' % line).decode().strip()
        if fx.git('cat-file', '-t', peeled).decode().strip() == 'commit':  # tags of trees/blobs: hidden
            tags[line] = '../' * (1 + line.count('/')) + 'commits/' + peeled
    assert links_below(mnt.path('tags')) == tags
    symbolic = fx.git('symbolic-ref', '-q', 'HEAD', check=False).decode().strip()
    if symbolic.startswith('refs/heads/'):
        assert os.readlink(mnt.path('HEAD')) == 'branches/' + symbolic[len('refs/heads/'):]
    else:
        assert os.readlink(mnt.path('HEAD')) == 'commits/' + fx.git('rev-parse', 'HEAD').decode().strip()


def log_name(fx, n, oid):
    headers, message = commit_raw(fx, oid)
    when = committer_time(fx, oid)
    subject = message.split(b'\n', 1)[0]
    subject = bytes(ord('_') if c < 0x20 or c == 0x7f or c == ord('/') else c for c in subject)[:60]
    subject = subject.decode('utf-8', 'ignore').encode()  # never cut inside a character
    short = fx.git('rev-parse', '--short=7', oid).decode().strip()
    date = time.strftime('%Y-%m-%dT%H-%M-%SZ', time.gmtime(when))
    return os.fsdecode(b'%06d_%s_%s_%s' % (n, date.encode(), short.encode(), subject))


def check_log(fx, mnt, branch):
    chain = fx.git_lines('rev-list', '--first-parent', 'refs/heads/' + branch)[::-1]
    want = {log_name(fx, i + 1, oid): '../' * (2 + branch.count('/')) + 'commits/' + oid
            for i, oid in enumerate(chain)}
    folder = mnt.path('log', branch)
    names = os.listdir(folder)
    assert sorted(names) == sorted(want)
    assert {n: os.readlink(os.path.join(folder, n)) for n in names} == want
    # history order is name order
    assert sorted(names) == [log_name(fx, i + 1, oid) for i, oid in enumerate(chain)]


def all_commits(fx):
    out = set(fx.git_lines('rev-list', '--all'))
    head = fx.git('rev-parse', '--verify', '-q', 'HEAD', check=False).decode().strip()
    if head:
        out.add(head)
    return out


@pytest.mark.parametrize('kind', GIT_KINDS)
def test_views_match_git(repos, kind):
    fx = repos.get(kind)
    commits = sorted(all_commits(fx))
    with Mount(fx.path, ['ro']) as mnt:
        assert sorted(os.listdir(mnt.mnt)) == ['HEAD', 'branches', 'commits', 'log', 'tags']
        check_refs(fx, mnt)
        assert set(os.listdir(mnt.path('commits'))) == set(commits)
        # every snapshot for small histories; a sample of long ones
        step = max(1, len(commits) // 12)
        for commit in commits[::step]:
            check_snapshot(fx, mnt, commit)
            check_commit_xattrs(fx, mnt, commit)
        for branch in heads(fx):
            check_log(fx, mnt, branch)


def test_ugit_repository(repos):
    fx = repos.get('ugit')
    f = fx.facts
    with Mount(fx.path) as mnt:
        assert os.readlink(mnt.path('HEAD')) == 'branches/master'
        assert links_below(mnt.path('branches')) == {
            'master': '../commits/' + f['commits']['c4'], 'side': '../commits/' + f['commits']['c3']}
        assert links_below(mnt.path('tags')) == {'v1': '../commits/' + f['commits']['c1']}
        assert set(os.listdir(mnt.path('commits'))) == set(f['commits'].values())
        root = mnt.path('commits', f['commits']['c4'])
        got = {os.fsdecode(p): st for p, st in walk(root).items()}
        assert sorted(got) == ['hello.txt', 'side file.txt', 'sub', 'sub/world.txt']
        assert got['hello.txt'].st_mode == stat.S_IFREG | 0o444
        assert got['sub'].st_mode == stat.S_IFDIR | 0o555
        with open(os.path.join(root, 'sub', 'world.txt'), 'rb') as fh:
            assert fh.read() == b'world\n'
        assert os.getxattr(root, 'user.ugit.author') == b''
        assert os.getxattr(root, 'user.ugit.committer') == b''
        assert os.getxattr(root, 'user.ugit.parents').decode() == '%s %s' % (f['commits']['c2'], f['commits']['c3'])
        assert os.getxattr(root, 'user.ugit.message') == b'merge side\n'
        names = sorted(os.listdir(mnt.path('log', 'master')))
        assert [n.split('_')[0] for n in names] == ['000001', '000002', '000003']
        assert [n.split('_', 3)[3] for n in names] == ['first', 'second', 'merge side']
        assert os.readlink(os.path.join(mnt.path('log', 'master'), names[-1])) == '../../commits/' + f['commits']['c4']


def test_abbreviated_ids(repos):
    fx = repos.get('packed')
    head = fx.git('rev-parse', 'HEAD').decode().strip()
    with Mount(fx.path, ['ro']) as mnt:
        for n in (4, 7, 12, len(head) - 1):
            assert os.readlink(mnt.path('commits', head[:n])) == head
        assert os.path.isdir(mnt.path('commits', head[:7]))
        assert os.listdir(mnt.path('commits', head[:7])) == os.listdir(mnt.path('commits', head))
        for bad in (head[:3], 'zzzzzzz', head + '0'):
            assert not os.path.lexists(mnt.path('commits', bad)), bad
        blob = fx.git('rev-parse', 'HEAD:README.md').decode().strip()
        assert not os.path.lexists(mnt.path('commits', blob)), 'a blob is not a commit'
        assert not os.path.lexists(mnt.path('commits', blob[:8]))


def test_ambiguous_prefix_is_not_a_link(repos):
    fx = repos.get('ambiguous')
    prefix = fx.facts['prefix']
    with Mount(fx.path, ['ro']) as mnt:
        assert not os.path.lexists(mnt.path('commits', prefix))


def test_same_object_same_inode(repos):
    fx = repos.get('packed')
    first = fx.facts['first']
    second = fx.git('rev-list', '--first-parent', 'main').decode().split()[-2]
    with Mount(fx.path, ['ro']) as mnt:
        a, b = mnt.path('commits', first), mnt.path('commits', second)
        # src/ and bin/run.sh did not change between the two; README.md did
        assert os.stat(os.path.join(a, 'src')).st_ino == os.stat(os.path.join(b, 'src')).st_ino
        assert os.stat(os.path.join(a, 'src', 'main.c')).st_ino == os.stat(os.path.join(b, 'src', 'main.c')).st_ino
        assert os.stat(os.path.join(a, 'README.md')).st_ino != os.stat(os.path.join(b, 'README.md')).st_ino
        # diff -r reports exactly what the commit changed
        diff = subprocess.run(['diff', '-rq', '--no-dereference', a, b], capture_output=True, text=True)
        assert diff.returncode == 1
        assert diff.stdout.splitlines() == ['Files %s/README.md and %s/README.md differ' % (a, b)]


def write_through(path, flags):
    """Open path and write one byte: the write (or the open) is where a change fails."""
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, b'x')
    finally:
        os.close(fd)


@pytest.mark.parametrize('options', [[], ['ro']], ids=['read-write mount', 'ro mount'])
def test_every_change_is_erofs(repos, options):
    """Without ro, ugitfs itself refuses (the kernel asks it); with ro the kernel does too."""
    fx = repos.get('packed')
    head = fx.git('rev-parse', 'HEAD').decode().strip()
    with Mount(fx.path, options) as mnt:
        snap = mnt.path('commits', head)
        file = os.path.join(snap, 'README.md')
        attempts = {
            'write': lambda: write_through(file, os.O_WRONLY),
            'append': lambda: write_through(file, os.O_WRONLY | os.O_APPEND),
            'truncating open': lambda: open(file, 'w'),
            'create': lambda: open(os.path.join(snap, 'new'), 'w'),
            'mkdir': lambda: os.mkdir(os.path.join(snap, 'dir')),
            'unlink': lambda: os.unlink(file),
            'rmdir': lambda: os.rmdir(os.path.join(snap, 'src')),
            'rename': lambda: os.rename(file, os.path.join(snap, 'moved')),
            'symlink': lambda: os.symlink('x', os.path.join(snap, 'l')),
            'link': lambda: os.link(file, os.path.join(snap, 'hard')),
            'chmod': lambda: os.chmod(file, 0o777),
            'truncate': lambda: os.truncate(file, 0),
            'utime': lambda: os.utime(file, (0, 0)),
            'setxattr': lambda: os.setxattr(file, 'user.x', b'1'),
            'removexattr': lambda: os.removexattr(file, 'user.ugit.oid'),
            'branch link': lambda: os.unlink(mnt.path('branches', 'main')),
            'new branch': lambda: os.symlink('x', mnt.path('branches', 'new')),
            'new tag': lambda: os.mkdir(mnt.path('tags', 'new')),
            'HEAD': lambda: os.unlink(mnt.path('HEAD')),
            'log': lambda: os.mkdir(mnt.path('log', 'x')),
            'commits': lambda: os.mkdir(mnt.path('commits', 'x')),
        }
        for what, attempt in attempts.items():
            with pytest.raises(OSError) as e:
                attempt()
            assert e.value.errno == errno.EROFS, what
        with open(file) as f:
            assert f.read() == 'hello\nworld\n'


def test_refs_change_outside_the_mount(fresh):
    fx = fresh('packed')
    r = fixtures.Repo(fx.path, init=False)
    r.tick = 100
    with Mount(fx.path, ['ro']) as mnt:
        old = os.readlink(mnt.path('branches', 'main'))
        log_before = len(os.listdir(mnt.path('log', 'main')))
        r.write('new.txt', 'made while mounted\n')
        new = r.commit('made while mounted')
        start = time.monotonic()
        wait_for(lambda: os.readlink(mnt.path('branches', 'main')) == '../commits/' + new, 1.0,
                 'branches/main to move')
        elapsed = time.monotonic() - start
        assert old != '../commits/' + new and elapsed <= 1.0
        wait_for(lambda: len(os.listdir(mnt.path('log', 'main'))) == log_before + 1, 1.0, 'the log to grow')
        with open(mnt.path('HEAD', 'new.txt')) as f:
            assert f.read() == 'made while mounted\n'
        r.git('branch', 'fresh-branch')
        wait_for(lambda: os.path.islink(mnt.path('branches', 'fresh-branch')), 1.0, 'a new branch')
        r.git('tag', '-a', '-m', 'while mounted', 'v9')
        wait_for(lambda: os.readlink(mnt.path('tags', 'v9')) == '../commits/' + new, 1.0, 'a new tag')
        r.git('branch', '-D', 'fresh-branch')
        wait_for(lambda: not os.path.lexists(mnt.path('branches', 'fresh-branch')), 1.0, 'a deleted branch')
        r.git('checkout', '-q', '--detach', 'HEAD~1')
        wait_for(lambda: os.readlink(mnt.path('HEAD')).startswith('commits/'), 1.0, 'a detached HEAD')
        r.git('checkout', '-q', 'main')
        wait_for(lambda: os.readlink(mnt.path('HEAD')) == 'branches/main', 1.0, 'HEAD on main again')


def test_gc_while_mounted(fresh):
    """Packing refs and objects (old packs deleted) does not break reading."""
    fx = fresh('multi_pack')
    head = fx.git('rev-parse', 'HEAD').decode().strip()
    with Mount(fx.path, ['ro']) as mnt:
        check_snapshot(fx, mnt, head)
        r = fixtures.Repo(fx.path, init=False)
        r.tick = 200
        r.write('late.txt', 'after the mount\n')
        new = r.commit('late')
        fx.git('gc', '-q', '--prune=now')
        fx.git('pack-refs', '--all')
        wait_for(lambda: os.readlink(mnt.path('branches', 'main')) == '../commits/' + new, 1.0, 'main to move')
        check_snapshot(fx, mnt, new)
        check_snapshot(fx, mnt, head)


def test_tools_over_a_snapshot(repos):
    """find, du, tar and diff behave on a snapshot as on a checkout."""
    fx = repos.get('odd_names')
    head = fx.facts['head']
    with Mount(fx.path, ['ro']) as mnt:
        snap = mnt.path('commits', head)
        found = subprocess.run(['find', snap, '-printf', '%P\\0'], capture_output=True, check=True).stdout
        want = ls_tree(fx, head)
        assert sorted(p for p in found.split(b'\0') if p) == sorted(want)
        tar = subprocess.run(['tar', '-cf', '-', '-C', snap, '.'], capture_output=True, check=True)
        assert b'sixty-four levels down' in tar.stdout
        du = subprocess.run(['du', '-sb', snap], capture_output=True, text=True, check=True)
        assert int(du.stdout.split()[0]) >= sum(w[3] for w in want.values() if w[3])
