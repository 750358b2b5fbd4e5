"""ugitfs(1), ERRORS, under a mount: each hostile object gives EIO (or is hidden) on its own path only,
with a log line naming it, and the daemon lives on."""

import errno
import os
import stat

import pytest

import fixtures
from mounting import Mount


def observe(path):
    """('ok', listing or bytes) or ('err', errno) for one path, as a user's tools see it."""
    try:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            return ('ok', sorted(os.listdir(path)))
        if stat.S_ISLNK(st.st_mode):
            return ('ok', os.readlink(path))
        with open(path, 'rb') as f:
            return ('ok', f.read())
    except OSError as e:
        return ('err', e.errno)


def names_culprit(lines, culprits):
    return any(c[:7] in line for line in lines for c in culprits)


class LogTail:
    """The daemon's output since the last look."""

    def __init__(self, mnt):
        self.mnt = mnt
        self.seen = len(mnt.output())

    def new_lines(self):
        out = self.mnt.output()
        lines, self.seen = out[self.seen:].splitlines(), len(out)
        return lines


def check_good_files(hx, root):
    for mode, name, oid in hx.facts['head_entries']:
        path = os.path.join(os.fsencode(root), name)
        if mode == '40000':
            assert os.path.isdir(path)
        else:
            with open(path, 'rb') as f:
                assert f.read() == hx.good[oid][1], name


def expected(b, verify):
    """What observe() must give for a bad object reached through its path."""
    if b.check == 'hidden':
        return [('ok', sorted(os.fsdecode(v) for v in b.visible))]
    if b.check == 'verify' and not verify:
        return [('ok', b.content)]
    ok = [('ok', b.content)] if b.maybe_ok and b.content is not None else []
    return [('err', errno.EIO)] + ok


@pytest.mark.parametrize('kind', [k for k in fixtures.HOSTILE if k not in ('bad_commits', 'bad_refs')])
def test_bad_objects_fail_alone(repos, kind):
    hx = repos.get(kind)
    verify_runs = [False, True] if any(b.check == 'verify' for b in hx.bad) else [False]
    for verify in verify_runs:
        with Mount(hx.path, ['ro'] + (['verify'] if verify else [])) as mnt:
            root = mnt.path('commits', hx.commit)
            check_good_files(hx, root)
            log = LogTail(mnt)
            problems = []
            for b in hx.bad:
                if not b.path:
                    continue
                got = observe(os.path.join(root, b.path))
                lines = log.new_lines()
                if got not in expected(b, verify):
                    problems.append('%s at %s: got %r' % (b.what, b.path, got if got[0] == 'err' else got[0]))
                elif got == ('err', errno.EIO) and not names_culprit(lines, b.culprits):
                    problems.append('%s: no log line names %s; log: %r' % (b.what, b.culprits[0][:12], lines))
                # and the rest of the snapshot still reads
                check_good_files(hx, root)
            assert not problems, '\n'.join(problems)
            # every commit is still listed, and listing ends
            assert hx.commit in os.listdir(mnt.path('commits'))


def test_unknown_mode_hides_one_entry(repos):
    """A tree entry of mode 777777 is hidden with one log line naming the tree; the
    folder lists and reads the rest (it used to be EIO as a whole)."""
    hx = repos.get('bad_tree_names')
    tree = hx.facts['unknown_mode_tree']
    with Mount(hx.path, ['ro']) as mnt:
        log = LogTail(mnt)
        folder = mnt.path('commits', hx.commit, 'unknown-mode')
        assert sorted(os.listdir(folder)) == ['before', 'dir']
        with open(os.path.join(folder, 'before'), 'rb') as f:
            assert f.read() == b'a good file next to bad names\n'
        assert os.listdir(os.path.join(folder, 'dir')) == ['config']
        assert observe(os.path.join(folder, 'strange')) == ('err', errno.ENOENT)
        lines = [line for line in log.new_lines() if tree in line]
        assert len(lines) == 1 and 'strange' in lines[0], lines


def test_bad_commits(repos):
    hx = repos.get('bad_commits')
    f = hx.facts
    with Mount(hx.path, ['ro']) as mnt:
        log = LogTail(mnt)
        for b in hx.bad:
            if b.otype != 'commit':
                continue
            lines = []
            branch = next(r for r in f['bad_refs'] if hx.git('rev-parse', r, check=False).decode().strip() == b.oid)
            branch = branch[len('refs/heads/'):]
            # the first-parent history of a looping or broken chain is an error on log/BRANCH only
            if b.check == 'commit':
                got = observe(mnt.path('log', branch))
                lines += log.new_lines()
                assert got == ('err', errno.EIO), (b.what, got)
            # a commit without a tree, or whose tree is a blob: EIO on its snapshot
            snap = observe(mnt.path('commits', b.oid))
            lines += log.new_lines()
            if b.what in ('commit without a tree line', 'commit whose tree is a blob',
                          'commit with a parent that is not hex'):
                assert snap == ('err', errno.EIO), (b.what, snap)
            else:
                assert snap[0] == 'ok', (b.what, snap)  # a loop in the history spoils no snapshot
            assert names_culprit(lines, b.culprits), (b.what, lines)
        # a tag of itself is not shown; the good history is
        assert 'loop' not in os.listdir(mnt.path('tags'))
        assert sorted(os.listdir(mnt.path('log', 'main')))
        listing = os.listdir(mnt.path('commits'))  # ends, despite the cycles
        assert f['head'] in listing
        check_good_files(hx, mnt.path('commits', hx.commit))


def test_bad_refs(repos):
    hx = repos.get('bad_refs')
    with Mount(hx.path, ['ro']) as mnt:
        names = set(os.listdir(mnt.path('branches')))
        for good, oid in hx.facts['good_refs'].items():
            name = good[len('refs/heads/'):]
            assert name in names
            assert os.readlink(mnt.path('branches', name)) == '../commits/' + oid
        for bad in hx.facts['bad_refs']:
            assert bad[len('refs/heads/'):] not in names, bad
        assert 'bad..name' not in names
        assert os.readlink(mnt.path('HEAD')) == 'branches/main'
        check_good_files(hx, mnt.path('commits', hx.commit))
