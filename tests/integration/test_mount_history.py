"""Times that mean something: last-change times of snapshot paths and commit times on links, against git."""

import os
import shutil
import stat
import subprocess

import pytest

import fixtures
from mounting import Mount


def build_history(dest):
    """Every shape a last-change walk must get right: a merge whose side branch alone changed a
    file, a delete and re-create, a revert to an earlier blob, an empty commit, a mode change,
    symlinks, nested folders, a folder deleted and re-created, a folder that was a file for a
    while, and a nested branch name."""
    r = fixtures.Repo(dest)
    r.write('README.md', 'v1\n')
    r.write('src/a.c', 'int a;\n')
    r.write('src/deep/x/y.txt', 'deep\n')
    r.write('old/keep.txt', 'never changes\n')
    r.write('tool.sh', 'echo 1\n', mode=0o644)
    r.symlink('link', 'README.md')
    r.commit('initial')
    r.write('README.md', 'v2\n')
    r.commit('readme v2')
    r.git('checkout', '-q', '-b', 'side')
    r.write('src/side.c', 'int side;\n')
    r.write('src/deep/x/y.txt', 'deep on side\n')
    r.commit('side: add side.c, change y')
    r.git('checkout', '-q', 'main')
    r.write('other.txt', 'main only\n')
    r.commit('main: other')
    r.merge('side', 'merge side')
    r.commit('empty commit')
    r.remove('src/a.c')
    r.commit('delete a.c')
    for i in range(4100):  # one commit that adds thousands of files at once
        r.write('bulk/%04d' % i, 'same\n')
    r.write('src/side.c', 'int side2;\n')
    r.commit('bulk: 4100 files, and side.c')
    r.write('src/a.c', 'int a;\n')
    r.commit('re-create a.c as it was')
    r.write('README.md', 'v1\n')
    r.commit('revert README to v1')
    os.chmod(os.path.join(r.path, 'tool.sh'), 0o755)
    r.symlink('link', 'other.txt')
    r.commit('tool.sh executable, link retargeted')
    r.remove('src/deep')
    r.commit('drop src/deep')
    r.write('src/deep/x/y.txt', 'deep\n')
    r.commit('src/deep back')
    r.git('branch', 'team/feature/z', 'HEAD~3')
    # a name that is a folder, then a file, then the same folder again: its files' times are
    # the commit that brought the folder back, not the first one that held them
    r.remove('old')
    r.write('old', 'a file now\n')
    r.commit('old/ becomes a file')
    r.remove('old')
    r.write('old/keep.txt', 'never changes\n')
    r.commit('old/ a folder again')
    return fixtures._fixture('history', r)


@pytest.fixture(scope='module')
def hist(tmp_path_factory):
    return build_history(tmp_path_factory.mktemp('hist') / 'history')


GRAPHS = {
    'objects': [],
    'graph': [['commit-graph', 'write', '--reachable']],
    'graph-filters': [['commit-graph', 'write', '--reachable', '--changed-paths']],
    'graph-chain': [['commit-graph', 'write', '--split=no-merge', '--changed-paths', '--stdin-commits'],
                    ['commit-graph', 'write', '--reachable', '--split=no-merge', '--changed-paths']],
    'graph-corrupt': [['commit-graph', 'write', '--reachable', '--changed-paths']],
}


@pytest.fixture(scope='module', params=sorted(GRAPHS))
def variant(request, hist, tmp_path_factory):
    """The history as objects only, or with a commit-graph: plain, with changed-path filters, a
    chain of two, or one damaged (which must be ignored with one log line, results unchanged)."""
    dest = tmp_path_factory.mktemp(request.param) / 'repo'
    shutil.copytree(hist.path, dest, symlinks=True)
    repo = fixtures.Repo(dest, init=False)
    fx = fixtures._fixture('history', repo)
    for args in GRAPHS[request.param]:
        fx.git(*args, input=(fx.git_lines('rev-parse', 'main~6')[0] + '\n').encode())
    # one commit newer than the graph: read from objects, its parent from the graph
    repo.tick = 1000
    repo.write('src/after-graph.c', 'int later;\n')
    repo.commit('after the graph')
    if request.param == 'graph-corrupt':
        path = os.path.join(fx.gitdir, 'objects', 'info', 'commit-graph')
        os.chmod(path, 0o644)
        with open(path, 'r+b') as f:
            f.seek(1100)
            byte = f.read(1)
            f.seek(1100)
            f.write(bytes([byte[0] ^ 0xff]))
        fx.git_args = ['-c', 'core.commitGraph=false', *fx.git_args]  # the oracle must not read it
    fx.facts['graph'] = request.param
    return fx


def check_graph_use(fx, out):
    """The daemon used the graph when there was a good one, and said once why it did not otherwise."""
    kind = fx.facts['graph']
    assert ('using the commit-graph' in out) == (kind not in ('objects', 'graph-corrupt')), out
    assert ('with changed-path filters' in out) == (kind in ('graph-filters', 'graph-chain')), out
    warnings = [l for l in out.splitlines() if 'commit-graph' in l and 'not used' in l]
    assert len(warnings) == (kind == 'graph-corrupt'), out


def first_parents(fx, rev='main'):
    return fx.git_lines('rev-list', '--first-parent', rev)


def git_change_time(fx, commit, path):
    """What the oracle says: git log -1 --first-parent --format=%ct COMMIT -- PATH."""
    out = fx.git('log', '-1', '--first-parent', '--format=%ct', commit, '--', path or '.').decode().strip()
    return int(out)


def snapshot_paths(fx, commit, bulk=False):
    """Every path of the snapshot; of bulk/ only the folder and two files unless asked."""
    recs = fx.git('ls-tree', '-r', '-t', '-z', '--name-only', commit).split(b'\0')
    return [p.decode() for p in recs
            if p and (bulk or not p.startswith(b'bulk/') or p in (b'bulk/0000', b'bulk/4099'))]


def times(st):
    return (st.st_mtime, st.st_ctime, st.st_atime)


def test_snapshot_times_are_last_changes(variant):
    """Every path of every first-parent snapshot of main (and the side branch's tip) has
    mtime = ctime = atime = git log -1 --first-parent --format=%ct C -- PATH; the root too.
    The same with each kind of commit-graph, and with a damaged one."""
    fx = variant
    commits = first_parents(fx) + [fx.git_lines('rev-parse', 'side')[0]]
    with Mount(fx.path, ['ro']) as mnt:
        for c in commits:
            for path in [''] + snapshot_paths(fx, c):
                st = os.lstat(mnt.path('commits', c, path))
                want = git_change_time(fx, c, path)
                assert times(st) == (want, want, want), (c, path)
        check_graph_use(fx, mnt.output())


def test_times_oldest_snapshot_first(hist):
    """Snapshots visited oldest first: each folder's answer then takes over the one of the
    version it replaced (cached a moment ago) instead of walking again, and must agree with
    git for every path, folders below folders too."""
    commits = list(reversed(first_parents(hist)))
    with Mount(hist.path, ['ro']) as mnt:
        for c in commits:
            for path in [''] + snapshot_paths(hist, c):
                want = git_change_time(hist, c, path)
                assert times(os.lstat(mnt.path('commits', c, path))) == (want, want, want), (c, path)


def test_times_with_verify(hist):
    """With -o verify a walk reads every version through the object cache, where each read is
    checked against its id, and the parser: the times of every path agree with git still."""
    with Mount(hist.path, ['ro', 'verify']) as mnt:
        for c in first_parents(hist)[:6]:
            for path in [''] + snapshot_paths(hist, c):
                want = git_change_time(hist, c, path)
                assert times(os.lstat(mnt.path('commits', c, path))) == (want, want, want), (c, path)


def test_commits_listing(variant):
    """commits/ lists exactly the commits git rev-list --all reaches, whatever graph there is."""
    want = set(variant.git_lines('rev-list', '--all'))
    with Mount(variant.path, ['ro']) as mnt:
        assert set(os.listdir(mnt.path('commits'))) == want
        check_graph_use(variant, mnt.output())


def test_listing_gives_the_same_times_as_lookup(hist):
    """readdirplus (ls -l) and a plain lookup agree: times come from the folder's one walk."""
    head = first_parents(hist)[0]
    with Mount(hist.path, ['ro']) as mnt:
        listed = {e.name: e.stat(follow_symlinks=False).st_mtime
                  for e in os.scandir(mnt.path('commits', head, 'src'))}
    with Mount(hist.path, ['ro']) as mnt:
        looked = {n: os.lstat(mnt.path('commits', head, 'src', n)).st_mtime for n in listed}
    assert listed == looked
    assert listed == {n: git_change_time(hist, head, 'src/' + n) for n in listed}


def test_mtime_commit_keeps_the_commit_time(hist):
    """-o mtime=commit: every path of a snapshot has the snapshot's own committer time."""
    c = first_parents(hist)[3]
    when = int(hist.git('log', '-1', '--format=%ct', c).decode())
    with Mount(hist.path, ['ro', 'mtime=commit']) as mnt:
        for path in [''] + snapshot_paths(hist, c):
            assert times(os.lstat(mnt.path('commits', c, path))) == (when, when, when), path


def test_bad_mtime_value_is_refused(hist, tmp_path):
    from mounting import run_ugitfs
    r = run_ugitfs('-f', '-o', 'mtime=never', hist.path, str(tmp_path))
    assert r.returncode != 0 and 'mtime' in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_link_times_are_commit_times(hist):
    """HEAD, branches/, tags/ and log/ entries carry the committer time of their commit."""
    hist.git('tag', '-f', '-a', '-m', 'annotated', 'v1', 'HEAD~2')
    hist.git('tag', '-f', 'light', 'HEAD~4')

    def ct(rev):
        return int(hist.git('log', '-1', '--format=%ct', rev).decode())
    with Mount(hist.path, ['ro']) as mnt:
        assert os.lstat(mnt.path('HEAD')).st_mtime == ct('HEAD')
        assert os.lstat(mnt.path('branches', 'main')).st_mtime == ct('main')
        assert os.lstat(mnt.path('branches', 'team', 'feature', 'z')).st_mtime == ct('team/feature/z')
        assert os.lstat(mnt.path('tags', 'v1')).st_mtime == ct('v1^{commit}')
        assert os.lstat(mnt.path('tags', 'light')).st_mtime == ct('light')
        log = mnt.path('log', 'main')
        listed = {e.name: e.stat(follow_symlinks=False).st_mtime for e in os.scandir(log)}
        oids = list(reversed(first_parents(hist)))
        assert len(listed) == len(oids)
        for name in sorted(listed):
            n = int(name.split('_')[0])
            assert listed[name] == ct(oids[n - 1]), name
            assert os.lstat(os.path.join(log, name)).st_mtime == ct(oids[n - 1]), name


def same_attrs(a, b):
    return (a.st_ino, a.st_size, a.st_mode, a.st_nlink, a.st_mtime, a.st_ctime) == \
        (b.st_ino, b.st_size, b.st_mode, b.st_nlink, b.st_mtime, b.st_ctime)


def diff_paths(out, old_root, new_root):
    """Paths named by `diff -rq` output, folders that exist on one side expanded to their files."""
    found = set()
    for line in out.splitlines():
        if line.startswith('Files ') or line.startswith('Symbolic links '):
            left = line[line.index(' ') + 1:line.index(' and ' + new_root)]
            left = left[len('links '):] if line.startswith('Symbolic') else left
            found.add(os.path.relpath(left, old_root))
        elif line.startswith('Only in '):
            where, name = line[len('Only in '):].split(': ', 1)
            full = os.path.join(where, name)
            root = old_root if full.startswith(old_root + '/') else new_root
            if os.path.isdir(full) and not os.path.islink(full):
                for dirpath, _, files in os.walk(full):
                    found.update(os.path.relpath(os.path.join(dirpath, f), root) for f in files)
            else:
                found.add(os.path.relpath(full, root))
        elif line.startswith('File ') and ' is a ' in line:  # a type change
            left = line[len('File '):line.index(' is a ')]
            rel = os.path.relpath(left, old_root)
            found.add(rel)
            for root in (old_root, new_root):  # the folder's side: git names its files too
                full = os.path.join(root, rel)
                if os.path.isdir(full) and not os.path.islink(full):
                    for dirpath, _, files in os.walk(full):
                        found.update(os.path.relpath(os.path.join(dirpath, f), root) for f in files)
        else:
            raise AssertionError('unexpected diff output: ' + line)
    return found


def test_diff_of_adjacent_snapshots(hist):
    """diff -rq of each adjacent pair prints exactly git diff --name-only's paths, and every
    path no commit between them changed has the same inode, size, mode, links and times on
    both sides (so diff skips it without reading)."""
    chain = list(reversed(first_parents(hist)))
    with Mount(hist.path, ['ro']) as mnt:
        for old, new in zip(chain, chain[1:]):
            a, b = mnt.path('commits', old), mnt.path('commits', new)
            p = subprocess.run(['diff', '-rq', '--no-dereference', a, b], capture_output=True, text=True)
            assert p.returncode in (0, 1), p.stderr
            changed = set(hist.git_lines('diff', '--name-only', old, new))
            # diff compares bytes, so a change of the executable bit alone is not its business
            mode_only = {line.split('\t', 1)[1] for line in hist.git_lines('diff', '--raw', '--no-abbrev', old, new)
                         if line.split()[2] == line.split()[3]}
            assert diff_paths(p.stdout, a, b) == changed - mode_only, (old, new)
            for path in snapshot_paths(hist, new, bulk=True):
                if os.path.lexists(os.path.join(a, path)) and \
                        not any(c == path or c.startswith(path + '/') for c in changed):
                    assert same_attrs(os.lstat(os.path.join(a, path)), os.lstat(os.path.join(b, path))), path


def git_versions(fx, tip, path):
    """The first-parent commits of tip that created or changed path (deletions left out), oldest first."""
    out = []
    for c in fx.git_lines('log', '--first-parent', '--format=%H', tip, '--', path):
        if fx.git('rev-parse', '-q', '--verify', '%s:%s' % (c, path), check=False).strip():
            out.append(c)
    return list(reversed(out))


@pytest.mark.parametrize('branch', ['main', 'team/feature/z'])
def test_versions_match_git_log(variant, branch):
    """versions/BRANCH/ mirrors the tip's tree; each file's folder lists exactly git's first-parent
    commits that created or changed it, named as in log/BRANCH/, linking to the file in that snapshot.
    The same with each kind of commit-graph, and with a damaged one."""
    hist = variant
    tip = hist.git_lines('rev-parse', branch)[0]
    files = [l.split('\t', 1) for l in hist.git_lines('ls-tree', '-r', '-t', tip)]
    sample = set(snapshot_paths(hist, tip))  # bulk/: the folder and two of its files
    depth = 2 + branch.count('/')
    with Mount(hist.path, ['ro']) as mnt:
        log_names = set(os.listdir(mnt.path('log', branch)))
        top = mnt.path('versions', *branch.split('/'))
        assert sorted(os.listdir(top)) == sorted(p for _, p in files if '/' not in p)
        for meta, path in files:
            folder = os.path.join(top, path)
            assert stat.S_ISDIR(os.lstat(folder).st_mode), path
            if path not in sample:
                continue
            if meta.split()[1] == 'tree':
                assert sorted(os.listdir(folder)) == sorted(
                    p.rsplit('/', 1)[1] for _, p in files if p.rsplit('/', 1)[0] == path and '/' in p)
                continue
            names = sorted(os.listdir(folder))
            assert set(names) <= log_names, path
            chain = list(reversed(first_parents(hist, tip)))
            got = [chain[int(n.split('_')[0]) - 1] for n in names]
            assert got == git_versions(hist, tip, path), path
            up = '../' * (depth + path.count('/') + 1)
            for name, c in zip(names, got):
                link = os.path.join(folder, name)
                assert os.readlink(link) == up + 'commits/%s/%s' % (c, path)
                assert os.lstat(link).st_mtime == int(hist.git('log', '-1', '--format=%ct', c).decode())
                if meta.split()[0] != '120000':
                    with open(link, 'rb') as f:
                        assert f.read() == hist.git('show', '%s:%s' % (c, path))
            with pytest.raises(FileNotFoundError):  # a commit of the log that did not change it
                unchanged = sorted(log_names - set(names))[0]
                os.lstat(os.path.join(folder, unchanged))
        check_graph_use(hist, mnt.output())
