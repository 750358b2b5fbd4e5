"""ugit, the C port of the seed tool: scripted sessions checked against .ugit byte vectors and git."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

BUILD = os.environ.get('UGITFS_BUILD', '')
UGIT = os.path.join(BUILD, 'mount-tools', 'ugit', 'ugit')
SANITIZER_MARKS = ('Sanitizer', 'runtime error:')
TIMEOUT = 120


# ---- the format, written from the description ----

def obj(type_, content):
    return type_.encode() + b'\0' + content


def oid_of(type_, content):
    return hashlib.sha1(obj(type_, content)).hexdigest()


def tree_content(entries):
    """entries: {name: (type, oid)}; lines sorted by name bytes."""
    items = sorted(entries.items(), key=lambda kv: kv[0].encode('utf-8', 'surrogateescape'))
    return b''.join(b'%s %s %s\n' % (t.encode(), o.encode(), n.encode('utf-8', 'surrogateescape'))
                    for n, (t, o) in items)


def commit_content(tree, parents, message):
    return (b'tree %s\n' % tree.encode() + b''.join(b'parent %s\n' % p.encode() for p in parents)
            + b'\n' + message.encode() + b'\n')


def blob(text):
    data = text.encode() if isinstance(text, str) else text
    return oid_of('blob', data)


def log_entry(oid, message, refs=()):
    """What log prints for one commit: header, blank, the indented message, blank."""
    head = 'commit %s%s\n\n' % (oid, ' (%s)' % ', '.join(refs) if refs else '')
    lines = message.splitlines()
    body = '\n'.join(('    ' + l) if l.strip() else l for l in lines)
    return head + body + '\n\n'


# ---- running ugit ----

class Result:
    def __init__(self, args, p):
        self.args, self.rc, self.out = args, p.returncode, p.stdout
        self.err = p.stderr.decode('utf-8', 'replace')

    @property
    def text(self):
        return self.out.decode('utf-8', 'surrogateescape')

    def __str__(self):
        return 'ugit %s -> %d\nstdout: %r\nstderr: %s' % (' '.join(self.args), self.rc,
                                                         self.out[-2000:], self.err[-2000:])


def run_ugit(cwd, *args, rc=0, env=None, input=None):
    if not os.access(UGIT, os.X_OK):
        pytest.fail('ugit not found at %s (set UGITFS_BUILD to the build directory)' % UGIT)
    args = [os.fspath(a) for a in args]
    try:
        p = subprocess.run([UGIT, *args], cwd=cwd, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail('ugit %s: no answer within %d s' % (' '.join(args), TIMEOUT))
    r = Result(args, p)
    if r.rc < 0:
        pytest.fail('%s\ndied of signal %d' % (r, -r.rc))
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, str(r)
    assert 'Traceback' not in r.err
    if rc is not None:
        assert r.rc == rc, str(r)
    if r.rc == 0:
        assert r.err == '' or args[0] == 'merge', str(r)
    elif r.rc == 1:
        # one line, naming the problem
        assert r.err.count('\n') == 1 and r.err.startswith('ugit: '), str(r)
    return r


class Repo:
    """A ugit working directory and byte-level views of its .ugit."""

    def __init__(self, path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def __call__(self, *args, **kw):
        return run_ugit(self.path, *args, **kw)

    def out(self, *args):
        return self(*args).text

    def write(self, name, data):
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)

    def read(self, name):
        return (self.path / name).read_bytes()

    def exists(self, name):
        return os.path.lexists(self.path / name)

    def ugit(self, name):
        return (self.path / '.ugit' / name).read_bytes()

    def object(self, oid):
        return self.ugit('objects/' + oid)

    def check_object(self, type_, content):
        """The object file holds TYPE NUL CONTENT and is named by its SHA-1."""
        oid = oid_of(type_, content)
        assert self.object(oid) == obj(type_, content)
        return oid

    def index(self):
        return self.ugit('index')

    def snapshot(self):
        """Every file of the working tree and of .ugit, for 'nothing changed' checks."""
        files = {}
        for root, dirs, names in os.walk(self.path):
            for n in names:
                p = os.path.join(root, n)
                files[os.path.relpath(p, self.path)] = open(p, 'rb').read()
        return files


def index_bytes(mapping):
    """What the Python tool's json.dump writes for this (ordered) dict."""
    return json.dumps(mapping).encode()


@pytest.fixture
def repo(tmp_path):
    r = Repo(tmp_path / 'work')
    r('init')
    return r


def status_text(head_line, staged=(), unstaged=(), merging=None):
    s = head_line + '\n'
    if merging:
        s += 'Merging with %s\n' % merging[:10]
    s += '\nChanges to be committed:\n\n'
    s += ''.join('%12s: %s\n' % (a, p) for a, p in staged)
    s += '\nChanges not staged for commit:\n\n'
    s += ''.join('%12s: %s\n' % (a, p) for a, p in unstaged)
    return s


# ---- sessions ----

def test_init_layout_and_message(tmp_path):
    r = Repo(tmp_path / 'w')
    res = r('init')
    assert res.text == 'Initialized empty ugit repository in %s/./.ugit\n' % os.path.realpath(r.path)
    assert r.ugit('HEAD') == b'ref: refs/heads/master'
    assert os.listdir(r.path / '.ugit' / 'objects') == []
    # a second init refuses and changes nothing
    r('init', rc=1)
    assert r.ugit('HEAD') == b'ref: refs/heads/master'


def test_first_commit_bytes(repo):
    repo.write('hello.txt', 'hello\n')
    repo.write('src/main.c', 'int main(void) { return 0; }\n')
    h = repo.out('hash-object', 'hello.txt')
    assert h == blob('hello\n') + '\n'
    assert repo.object(h.strip()) == b'blob\0hello\n'
    assert repo.out('cat-file', h.strip()).encode() == b'hello\n'

    repo('add', 'hello.txt', 'src')
    b1, b2 = blob('hello\n'), blob('int main(void) { return 0; }\n')
    assert repo.index() == index_bytes({'hello.txt': b1, 'src/main.c': b2})
    assert repo.out('status') == status_text('On branch master',
                                             staged=[('new file', 'hello.txt'), ('new file', 'src/main.c')])

    src = oid_of('tree', tree_content({'main.c': ('blob', b2)}))
    top = oid_of('tree', tree_content({'hello.txt': ('blob', b1), 'src': ('tree', src)}))
    assert repo.out('write-tree') == top + '\n'
    repo.check_object('tree', tree_content({'main.c': ('blob', b2)}))
    repo.check_object('tree', tree_content({'hello.txt': ('blob', b1), 'src': ('tree', src)}))

    c1 = oid_of('commit', commit_content(top, [], 'first'))
    assert repo.out('commit', '-m', 'first') == c1 + '\n'
    repo.check_object('commit', commit_content(top, [], 'first'))
    assert repo.ugit('refs/heads/master') == c1.encode()        # no trailing newline
    assert repo.ugit('HEAD') == b'ref: refs/heads/master'        # a commit moves the branch
    assert repo.out('log') == log_entry(c1, 'first', ['HEAD', 'refs/heads/master'])
    assert repo.out('status') == status_text('On branch master')
    assert repo.out('cat-file', '@').encode() == commit_content(top, [], 'first')

    # the second commit has the first as parent, message with newlines kept
    repo.write('hello.txt', 'hello\nworld\n')
    repo('add', 'hello.txt')
    msg = 'second\n\nbody line\n  \n\tindented'
    top2 = oid_of('tree', tree_content({'hello.txt': ('blob', blob('hello\nworld\n')),
                                        'src': ('tree', src)}))
    c2 = oid_of('commit', commit_content(top2, [c1], msg))
    assert repo.out('commit', '--message', msg) == c2 + '\n'
    repo.check_object('commit', commit_content(top2, [c1], msg))
    assert repo.out('log') == (log_entry(c2, msg, ['HEAD', 'refs/heads/master'])
                               + log_entry(c1, 'first'))
    assert repo.out('log', c1) == log_entry(c1, 'first')
    # a whitespace-only line is printed as it is, not indented
    assert '\n  \n' in repo.out('log')


def test_tree_order_empty_dirs_and_index_order(repo):
    # ugit sorts entries by name bytes, folders and files alike ("a" < "a-c" < "a.txt"),
    # unlike git's "name/" order
    repo.write('a.txt', '1\n')
    repo.write('a-c', '2\n')
    repo.write('a/b', '3\n')
    repo.write('b', '4\n')
    (repo.path / 'empty' / 'deeper').mkdir(parents=True)
    repo('add', '.')
    # add walks as os.walk: a folder's files (sorted) before its subfolders
    assert repo.index() == index_bytes({'a-c': blob('2\n'), 'a.txt': blob('1\n'), 'b': blob('4\n'),
                                        'a/b': blob('3\n')})
    sub = oid_of('tree', tree_content({'b': ('blob', blob('3\n'))}))
    content = tree_content({'a.txt': ('blob', blob('1\n')), 'a-c': ('blob', blob('2\n')),
                            'a': ('tree', sub), 'b': ('blob', blob('4\n'))})
    assert content.startswith(b'tree ' + sub.encode() + b' a\nblob ')
    top = repo.out('write-tree').strip()
    assert top == oid_of('tree', content)
    repo.check_object('tree', content)
    # read-tree rebuilds the index in the tree's walk order
    repo('read-tree', top)
    assert repo.index() == index_bytes({'a/b': blob('3\n'), 'a-c': blob('2\n'),
                                        'a.txt': blob('1\n'), 'b': blob('4\n')})
    # the empty tree is zero bytes of content
    empty = oid_of('tree', b'')
    (repo.path / '.ugit' / 'index').write_bytes(b'{}')
    assert repo.out('write-tree') == empty + '\n'
    assert repo.object(empty) == b'tree\0'


def test_index_json_escapes(repo):
    names = ['caf\u00e9.txt', '\u65e5\u672c/x', 'emoji\U0001F600', 'quote"back\\slash', 'tab\tname']
    for n in names:
        repo.write(n, n + '\n')
    raw = b'bad\xffname'
    (repo.path / os.fsdecode(raw)).write_bytes(b'raw\n')
    repo('add', *names, os.fsdecode(raw))
    expected = {n: blob(n + '\n') for n in names}
    expected[os.fsdecode(raw)] = blob('raw\n')
    data = repo.index()
    assert data == index_bytes(expected)
    assert data.isascii() and not data.endswith(b'\n')
    assert b'\\u00e9' in data and b'\\ud83d\\ude00' in data and b'\\udcff' in data
    # and it reads back: nothing staged differs from the working tree
    st = repo.out('status')
    assert 'Changes not staged for commit:\n\n' in st and st.endswith('commit:\n\n')
    c = repo.out('commit', '-m', 'names').strip()
    repo.write('caf\u00e9.txt', 'changed\n')
    assert '    modified: caf\u00e9.txt\n' in repo.out('status')
    # a checkout from the other side writes the odd names back byte for byte
    repo('checkout', '--force', c)
    assert repo.read('caf\u00e9.txt') == 'caf\u00e9.txt\n'.encode()
    assert (repo.path / os.fsdecode(raw)).read_bytes() == b'raw\n'


def test_add_stages_removals_and_rejects_unknown(repo):
    repo.write('a', 'a\n')
    repo.write('d/x', 'x\n')
    repo('add', 'a', 'd')
    repo('commit', '-m', 'one')
    os.remove(repo.path / 'a')
    os.remove(repo.path / 'd' / 'x')
    repo('add', 'a', 'd')
    assert repo.index() == b'{}'
    assert repo.out('status') == status_text('On branch master',
                                             staged=[('deleted', 'a'), ('deleted', 'd/x')])
    r = repo('add', 'nothing-here', rc=1)
    assert 'nothing-here' in r.err
    repo('add', '../outside', rc=1)
    repo('add', '.ugit/HEAD', rc=1)
    # never read through a symbolic link to a folder outside the tree
    os.symlink('/etc', repo.path / 'etc')
    r = repo('add', 'etc/hostname', rc=1)
    assert 'symbolic link' in r.err
    assert repo.index() == b'{}'


def test_branch_checkout_detached_and_untracked_kept(repo):
    repo.write('f', 'one\n')
    repo.write('gone/g', 'g\n')
    repo('add', '.')
    c1 = repo.out('commit', '-m', 'c1').strip()
    assert repo.out('branch', 'feature') == 'Branch feature created at %s\n' % c1[:10]
    assert repo.ugit('refs/heads/feature') == c1.encode()
    assert repo.out('branch') == '  feature\n* master\n'
    repo('branch', 'feature', rc=1)          # never moves an existing branch
    repo('branch', 'bad..name', rc=1)

    repo('checkout', 'feature')
    assert repo.ugit('HEAD') == b'ref: refs/heads/feature'
    assert repo.out('branch') == '* feature\n  master\n'
    repo.write('f', 'two\n')
    os.remove(repo.path / 'gone' / 'g')
    repo('add', 'f', 'gone')
    c2 = repo.out('commit', '-m', 'c2').strip()
    assert repo.ugit('refs/heads/feature') == c2.encode()
    assert repo.ugit('refs/heads/master') == c1.encode()

    repo.write('untracked.txt', 'mine\n')
    repo('checkout', 'master')
    assert repo.read('f') == b'one\n' and repo.read('gone/g') == b'g\n'
    assert repo.read('untracked.txt') == b'mine\n'
    repo('checkout', 'feature')
    assert not repo.exists('gone')            # its only file left with the commit
    assert repo.read('untracked.txt') == b'mine\n'

    # a detached checkout by id writes the id into HEAD
    repo('checkout', c1)
    assert repo.ugit('HEAD') == c1.encode()
    assert repo.ugit('refs/heads/feature') == c2.encode()   # detaching moves no branch
    assert repo.out('status').startswith('HEAD detached at %s\n' % c1[:10])
    assert repo.out('branch') == '  feature\n  master\n'
    # a commit on a detached HEAD moves HEAD only
    repo.write('f', 'three\n')
    repo('add', 'f')
    c3 = repo.out('commit', '-m', 'c3').strip()
    assert repo.ugit('HEAD') == c3.encode()
    assert repo.ugit('refs/heads/master') == c1.encode()
    assert repo.out('log').startswith(log_entry(c3, 'c3', ['HEAD']))


def test_checkout_refuses_to_destroy_work(repo):
    repo.write('f', 'base\n')
    repo('add', 'f')
    c1 = repo.out('commit', '-m', 'c1').strip()
    repo('branch', 'other')
    repo.write('f', 'master\n')
    repo('add', 'f')
    repo('commit', '-m', 'c2')

    # an uncommitted change to a path the checkout would rewrite
    repo.write('f', 'my work\n')
    before = repo.snapshot()
    r = repo('checkout', 'other', rc=1)
    assert "'f'" in r.err and 'uncommitted' in r.err
    assert repo.snapshot() == before

    # a staged change too
    repo('add', 'f')
    before = repo.snapshot()
    repo('checkout', 'other', rc=1)
    assert repo.snapshot() == before
    repo.write('f', 'master\n')
    repo('add', 'f')

    # an untracked file where the target has a file
    repo('checkout', 'other')
    repo.write('new', 'untracked\n')
    repo('checkout', 'master')
    repo('checkout', 'other')
    (repo.path / 'new').unlink()
    repo.write('new', 'committed\n')
    repo('add', 'new')
    repo('commit', '-m', 'adds new')
    repo('checkout', 'master')
    assert not repo.exists('new')
    repo.write('new', 'precious\n')
    before = repo.snapshot()
    r = repo('checkout', 'other', rc=1)
    assert "untracked file 'new'" in r.err
    assert repo.snapshot() == before

    # an untracked file where the target needs a folder, and the reverse
    os.remove(repo.path / 'new')
    repo.write('new/inside', 'precious\n')
    before = repo.snapshot()
    r = repo('checkout', 'other', rc=1)
    assert 'new/inside' in r.err
    assert repo.snapshot() == before

    # --force overrides
    repo('checkout', '--force', 'other')
    assert repo.read('new') == b'committed\n'
    assert repo.ugit('HEAD') == b'ref: refs/heads/other'
    # a change to a path both commits share is carried, as git does
    repo.write('f', 'carried\n')
    repo('checkout', c1)
    assert repo.read('f') == b'carried\n'


def test_merge_fast_forward_and_up_to_date(repo):
    repo.write('f', '1\n')
    repo('add', 'f')
    c1 = repo.out('commit', '-m', 'c1').strip()
    repo('branch', 'topic')
    repo('checkout', 'topic')
    repo.write('g', 'topic\n')
    repo('add', 'g')
    c2 = repo.out('commit', '-m', 'c2').strip()
    repo('checkout', 'master')
    assert not repo.exists('g')
    assert repo.out('merge', 'topic') == 'Fast-forward merge, no need to commit\n'
    assert repo.ugit('refs/heads/master') == c2.encode()
    assert repo.ugit('HEAD') == b'ref: refs/heads/master'
    assert repo.read('g') == b'topic\n'
    assert not repo.exists('.ugit/MERGE_HEAD')
    assert repo.index() == index_bytes({'f': blob('1\n'), 'g': blob('topic\n')})
    # merging an ancestor (or itself) does nothing
    assert repo.out('merge', c1) == 'Already up to date.\n'
    assert repo.out('merge', 'topic') == 'Already up to date.\n'
    assert repo.ugit('refs/heads/master') == c2.encode()


def build_diverged(repo, base_files, ours, theirs):
    """base commit, then 'theirs' on branch other and 'ours' on master (None deletes)."""
    for n, d in base_files.items():
        repo.write(n, d)
    repo('add', '.')
    base = repo.out('commit', '-m', 'base').strip()
    repo('branch', 'other')

    def apply(changes, msg):
        for n, d in changes.items():
            if d is None:
                os.remove(repo.path / n)
            else:
                repo.write(n, d)
        repo('add', *changes)
        return repo.out('commit', '-m', msg).strip()

    repo('checkout', 'other')
    c_theirs = apply(theirs, 'theirs')
    repo('checkout', 'master')
    c_ours = apply(ours, 'ours')
    return base, c_ours, c_theirs


def test_merge_conflict_session(repo):
    base, ours, theirs = build_diverged(
        repo, {'f': 'a\nb\nc\n', 'keep': 'k\n'},
        ours={'f': 'a\nB-ours\nc\n'}, theirs={'f': 'a\nB-theirs\nc\n', 'added': 'new\n'})
    assert repo.out('merge-base', 'master', 'other') == base + '\n'
    r = repo('merge', 'other')
    assert r.text == 'Merged in working tree\nPlease commit\n'
    assert 'CONFLICT' in r.err and 'f' in r.err
    merged = ('a\n<<<<<<< HEAD\nB-ours\n||||||| BASE\nb\n=======\nB-theirs\n'
              '>>>>>>> MERGE_HEAD\nc\n')
    assert repo.read('f') == merged.encode()
    assert repo.read('added') == b'new\n'
    assert repo.ugit('MERGE_HEAD') == theirs.encode()
    repo.check_object('blob', merged.encode())
    assert json.loads(repo.index()) == {'f': blob(merged), 'keep': blob('k\n'), 'added': blob('new\n')}
    # the index keeps compare_trees order: base's paths, then new ones
    assert repo.index() == index_bytes({'f': blob(merged), 'keep': blob('k\n'),
                                        'added': blob('new\n')})
    assert repo.out('status') == status_text('On branch master', merging=theirs,
                                             staged=[('modified', 'f'), ('new file', 'added')])
    assert repo.out('log', 'MERGE_HEAD').startswith(log_entry(theirs, 'theirs', ['MERGE_HEAD', 'refs/heads/other']))
    # a second merge while one waits is refused
    repo('merge', 'other', rc=1)

    # resolve and commit: two parents, HEAD first, MERGE_HEAD removed
    repo.write('f', 'a\nresolved\nc\n')
    repo('add', 'f')
    top = repo.out('write-tree').strip()
    mc = repo.out('commit', '-m', 'merge').strip()
    assert mc == oid_of('commit', commit_content(top, [ours, theirs], 'merge'))
    repo.check_object('commit', commit_content(top, [ours, theirs], 'merge'))
    assert not repo.exists('.ugit/MERGE_HEAD')
    # log: the whole first-parent chain before the second parent
    assert repo.out('log') == (log_entry(mc, 'merge', ['HEAD', 'refs/heads/master'])
                               + log_entry(ours, 'ours') + log_entry(base, 'base')
                               + log_entry(theirs, 'theirs', ['refs/heads/other']))
    assert repo.out('merge', 'other') == 'Already up to date.\n'


def test_merge_clean_deletions_and_same_changes(repo):
    base, ours, theirs = build_diverged(
        repo, {'both': 'x\n', 'deleted': 'd\n', 'mine': '1\n', 'theirs': '2\n', 'same': 's\n'},
        ours={'mine': '1 ours\n', 'same': 'same change\n'},
        theirs={'theirs': '2 theirs\n', 'deleted': None, 'same': 'same change\n'})
    r = repo('merge', 'other')
    assert r.text == 'Merged in working tree\nPlease commit\n' and 'CONFLICT' not in r.err
    assert not repo.exists('deleted')
    assert repo.read('mine') == b'1 ours\n' and repo.read('theirs') == b'2 theirs\n'
    assert repo.read('same') == b'same change\n'
    assert repo.index() == index_bytes({'both': blob('x\n'), 'mine': blob('1 ours\n'),
                                        'same': blob('same change\n'), 'theirs': blob('2 theirs\n')})
    mc = repo.out('commit', '-m', 'merged').strip()
    assert repo.out('show', mc).startswith(log_entry(mc, 'merged'))


def test_merge_refuses_local_changes(repo):
    base, ours, theirs = build_diverged(repo, {'f': '1\n', 'g': '1\n'},
                                        ours={'g': '2\n'}, theirs={'f': 'theirs\n'})
    repo.write('f', 'local\n')
    before = repo.snapshot()
    r = repo('merge', 'other', rc=1)
    assert "'f'" in r.err
    assert repo.snapshot() == before
    # a change to a path the merge leaves alone does not stop it
    repo.write('f', '1\n')
    repo.write('g', 'unstaged\n')
    repo('merge', 'other')
    assert repo.read('g') == b'unstaged\n' and repo.read('f') == b'theirs\n'


def test_merge_binary_conflict_is_one_line(repo):
    """A binary file changed on both sides: the merge is refused in one line naming it, nothing changes."""
    build_diverged(repo, {'bin': b'a\0base\n', 'text': 't\n'},
                   ours={'bin': b'a\0ours\n'}, theirs={'bin': b'a\0theirs\n'})
    before = repo.snapshot()
    r = repo('merge', 'other', rc=1)  # run_ugit checks: exactly one line on stderr
    assert "'bin'" in r.err and 'binary' in r.err, str(r)
    assert '/tmp/ugit-' not in r.err  # diff3's own words name our temporary files
    assert repo.snapshot() == before


def test_name_with_newline_refused_naming_its_path(repo):
    """ugit's trees are lines: a name holding a newline cannot be stored, and the error says so and where."""
    repo.write('top/sub/a\nb', 'x\n')
    repo.write('top/ok', 'y\n')
    repo('add', 'top')
    before = repo.snapshot()
    for cmd in (['commit', '-m', 'x'], ['write-tree']):
        r = repo(*cmd, rc=1)
        assert "'top/sub/a\\nb'" in r.err and 'newline' in r.err, str(r)
        assert 'alike' not in r.err
    assert repo.snapshot() == before


def test_file_and_folder_of_one_name_refused(repo):
    """An index (written by another tool) holding a file and a folder of one name is refused by its path."""
    repo.write('a/b/c', '1\n')
    repo('add', 'a')
    (repo.path / '.ugit' / 'index').write_bytes(index_bytes({'a/b/c': blob('1\n'), 'a/b': blob('1\n')}))
    r = repo('write-tree', rc=1)
    assert "both a file and a folder named 'a/b'" in r.err, str(r)


def test_merge_base_best_and_symmetric(repo):
    # main: O - M1 - M2 (merges F1); feature: O - F1 - F2. The Python tool walked
    # from one side and could stop at O; the best common ancestor is F1.
    repo.write('f', 'o\n')
    repo('add', 'f')
    o = repo.out('commit', '-m', 'O').strip()
    repo('branch', 'feature')
    repo.write('m', 'm1\n')
    repo('add', 'm')
    repo('commit', '-m', 'M1')
    repo('checkout', 'feature')
    repo.write('g', 'f1\n')
    repo('add', 'g')
    f1 = repo.out('commit', '-m', 'F1').strip()
    repo('checkout', 'master')
    repo('merge', 'feature')
    repo('commit', '-m', 'M2')
    repo('checkout', 'feature')
    repo.write('g', 'f2\n')
    repo('add', 'g')
    repo('commit', '-m', 'F2')
    assert repo.out('merge-base', 'master', 'feature') == f1 + '\n'
    assert repo.out('merge-base', 'feature', 'master') == f1 + '\n'
    assert repo.out('merge-base', o, 'master') == o + '\n'
    r = repo('merge-base', 'nosuch', 'master', rc=1)
    assert 'nosuch' in r.err


def test_reset_tag_and_rev_lookup(repo):
    repo.write('f', '1\n')
    repo('add', 'f')
    c1 = repo.out('commit', '-m', 'c1').strip()
    repo.write('f', '2\n')
    repo('add', 'f')
    c2 = repo.out('commit', '-m', 'c2').strip()
    repo('tag', 'v1', c1)
    assert repo.ugit('refs/tags/v1') == c1.encode()
    repo('tag', 'v2')
    assert repo.ugit('refs/tags/v2') == c2.encode()
    repo('tag', 'v1', rc=1)
    # lookup order: NAME, refs/NAME, refs/tags/NAME, refs/heads/NAME, then an id
    assert repo.out('cat-file', 'tags/v1') == repo.out('cat-file', c1)
    assert repo.out('log', 'v1') == log_entry(c1, 'c1', ['refs/tags/v1'])
    assert repo.out('log', c1[:8]) == repo.out('log', 'v1')
    repo('log', 'nope', rc=1)
    # reset moves the branch only
    repo('reset', 'v1')
    assert repo.ugit('refs/heads/master') == c1.encode()
    assert repo.read('f') == b'2\n'
    assert json.loads(repo.index()) == {'f': blob('2\n')}
    assert repo.out('status') == status_text('On branch master', staged=[('modified', 'f')])


def test_diff_forms(repo):
    repo.write('f', 'one\ntwo\n')
    repo.write('g', 'g\n')
    repo('add', 'f', 'g')
    c1 = repo.out('commit', '-m', 'c1').strip()
    repo.write('f', 'one\n2\n')
    repo.write('h', 'new\n')
    os.remove(repo.path / 'g')
    work = repo.out('diff')
    assert work == ('--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n'
                    '--- a/g\n+++ b/g\n@@ -1 +0,0 @@\n-g\n'
                    '--- a/h\n+++ b/h\n@@ -0,0 +1 @@\n+new\n')
    assert repo.out('diff', '--cached') == ''
    repo('add', 'f')
    assert repo.out('diff', '--cached') == '--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n'
    assert repo.out('diff', c1).startswith('--- a/f\n')
    repo('add', 'g', 'h')
    c2 = repo.out('commit', '-m', 'c2').strip()
    assert repo.out('diff', c1, c2) == repo.out('diff', '--cached', c1)
    show = repo.out('show')
    assert show == log_entry(c2, 'c2') + repo.out('diff', c1, c2)
    # GNU diff's --show-c-function names the function of a hunk
    body = 'int f(void)\n{\n' + ''.join('\tx%d();\n' % i for i in range(10)) + '}\n'
    repo.write('c.c', body)
    repo('add', 'c.c')
    repo('commit', '-m', 'c')
    repo.write('c.c', body.replace('x8', 'y8'))
    assert '@@ -8,6 +8,6 @@ int f(void)\n' in repo.out('diff')


def test_k_graph(repo, tmp_path):
    repo.write('f', '1\n')
    repo('add', 'f')
    c1 = repo.out('commit', '-m', 'c1').strip()
    repo('tag', 'v1')
    dot = repo.out('k')
    assert dot == ('digraph commits {\n'
                   '"HEAD" [shape=note]\n"HEAD" -> "refs/heads/master"\n'
                   '"refs/heads/master" [shape=note]\n"refs/heads/master" -> "%s"\n'
                   '"refs/tags/v1" [shape=note]\n"refs/tags/v1" -> "%s"\n'
                   '"%s" [shape=box style=filled label="%s"]\n'
                   '}\n') % (c1, c1, c1, c1[:10])
    if shutil.which('dot'):
        repo('k', '-o', tmp_path / 'g.svg')
        assert b'<svg' in (tmp_path / 'g.svg').read_bytes()
        repo('k', '-o', tmp_path / 'g.png')
        assert (tmp_path / 'g.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # without Graphviz: one line telling how to get it
    bare = tmp_path / 'bin'
    bare.mkdir()
    env = dict(os.environ, PATH=str(bare))
    r = run_ugit(repo.path, 'k', '-o', tmp_path / 'h.png', rc=1, env=env)
    assert 'apt-get install graphviz' in r.err
    repo('k', '-o', tmp_path / 'h.gif', rc=2)


def test_fetch_and_push_between_repositories(tmp_path):
    a = Repo(tmp_path / 'a')
    a('init')
    a.write('f', 'a1\n')
    a('add', 'f')
    a1 = a.out('commit', '-m', 'a1').strip()
    a('branch', 'dev')

    b = Repo(tmp_path / 'b')
    b('init')
    assert b.out('fetch', a.path) == ''
    assert b.ugit('refs/remote/master') == a1.encode()
    assert b.ugit('refs/remote/dev') == a1.encode()
    for name in os.listdir(a.path / '.ugit' / 'objects'):
        assert b.object(name) == a.object(name)
    # work on top of the fetched history, then push a new branch and a fast-forward
    b('checkout', 'remote/master')
    assert b.read('f') == b'a1\n'
    b('branch', 'master')
    b('checkout', 'master')
    b.write('f', 'b2\n')
    b('add', 'f')
    b2 = b.out('commit', '-m', 'b2').strip()
    assert b.out('push', a.path, 'master') == ''
    assert a.ugit('refs/heads/master') == b2.encode()
    assert a.object(b2) == b.object(b2)
    assert a.out('log', 'master').startswith(log_entry(b2, 'b2', ['HEAD', 'refs/heads/master']))
    b('push', a.path, 'master')                       # nothing to do
    b('branch', 'feature')
    b('push', a.path, 'feature')
    assert a.ugit('refs/heads/feature') == b2.encode()

    # a diverged remote branch is never overwritten
    a('checkout', '--force', 'dev')
    a.write('f', 'a-dev\n')
    a('add', 'f')
    a_dev = a.out('commit', '-m', 'a-dev').strip()
    b('branch', 'dev', 'remote/dev')
    b('checkout', 'dev')
    b.write('g', 'b-dev\n')
    b('add', 'g')
    b('commit', '-m', 'b-dev')
    r = b('push', a.path, 'dev', rc=1)
    assert 'rejected' in r.err
    assert a.ugit('refs/heads/dev') == a_dev.encode()
    # fetch brings it in; after merging, the push goes through
    b('fetch', a.path)
    assert b.ugit('refs/remote/dev') == a_dev.encode()
    assert b.out('merge', 'remote/dev') == 'Merged in working tree\nPlease commit\n'
    m = b.out('commit', '-m', 'merge dev').strip()
    b('push', a.path, 'dev')
    assert a.ugit('refs/heads/dev') == m.encode()
    b('push', tmp_path / 'nowhere', 'dev', rc=1)
    b('push', a.path, 'nosuchbranch', rc=1)


def test_usage_and_errors(repo, tmp_path):
    assert run_ugit(repo.path, rc=2).rc == 2
    run_ugit(repo.path, 'frobnicate', rc=2)
    repo('commit', rc=2)
    repo('log', 'a', 'b', rc=2)
    repo('diff', '--bogus', rc=2)
    assert repo.out('--help').startswith('usage: ugit')
    repo('cat-file', '0' * 40, rc=1)
    repo('checkout', 'nosuch', rc=1)
    repo('merge', 'nosuch', rc=1)
    repo('hash-object', 'missing-file', rc=1)
    repo('log', rc=1)                                # an unborn branch has no log
    # a hostile index: one line, no crash
    (repo.path / '.ugit' / 'index').write_bytes(b'{"a": 12}')
    repo('status', rc=1)
    (repo.path / '.ugit' / 'index').write_bytes(b'{"../x": "' + b'0' * 40 + b'"}')
    repo('write-tree', rc=1)
    (repo.path / '.ugit' / 'index').write_bytes(b'{"x": "' + b'0' * 40 + b'"')
    repo('commit', '-m', 'x', rc=1)
    # not a repository at all
    empty = tmp_path / 'empty'
    empty.mkdir()
    run_ugit(empty, 'log', rc=1)


def test_a_repository_written_by_hand_is_read(tmp_path):
    """A .ugit as the Python tool leaves it (no refs/ until a ref is written,
    refs/remote//NAME paths) works."""
    w = tmp_path / 'py'
    (w / '.ugit' / 'objects').mkdir(parents=True)
    (w / '.ugit' / 'HEAD').write_bytes(b'ref: refs/heads/master')

    def put(type_, content):
        oid = oid_of(type_, content)
        (w / '.ugit' / 'objects' / oid).write_bytes(obj(type_, content))
        return oid
    b1 = put('blob', b'x\n')
    t = put('tree', tree_content({'x': ('blob', b1)}))
    c = put('commit', commit_content(t, [], 'hand made'))
    (w / '.ugit' / 'refs' / 'heads').mkdir(parents=True)
    (w / '.ugit' / 'refs' / 'heads' / 'master').write_bytes(c.encode())
    (w / '.ugit' / 'index').write_bytes(index_bytes({'x': b1}))
    (w / 'x').write_bytes(b'x\n')
    r = Repo(w)
    assert r.out('log') == log_entry(c, 'hand made', ['HEAD', 'refs/heads/master'])
    assert r.out('status') == status_text('On branch master')


def test_ugitfs_mounts_a_ugit_repository(tmp_path):
    import mounting
    assert os.access(mounting.UGITFS, os.X_OK), 'ugitfs is not built'
    assert os.access('/dev/fuse', os.R_OK | os.W_OK), 'no /dev/fuse here'
    r = Repo(tmp_path / 'w')
    r('init')
    r.write('top', 'top\n')
    r.write('d/x', 'x\n')
    r('add', '.')
    c1 = r.out('commit', '-m', 'first').strip()
    r('tag', 'v1')
    r.write('d/x', 'x2\n')
    r('add', 'd')
    c2 = r.out('commit', '-m', 'second').strip()
    r('branch', 'old', c1)
    with mounting.Mount(str(r.path)) as m:
        assert os.readlink(m.path('HEAD')) == 'branches/master'
        assert os.readlink(m.path('branches', 'master')) == '../commits/' + c2
        assert os.readlink(m.path('branches', 'old')) == '../commits/' + c1
        assert os.readlink(m.path('tags', 'v1')) == '../commits/' + c1
        assert open(m.path('commits', c2, 'd', 'x'), 'rb').read() == b'x2\n'
        assert open(m.path('commits', c1, 'd', 'x'), 'rb').read() == b'x\n'
        assert sorted(os.listdir(m.path('commits', c2))) == ['d', 'top']
        assert os.stat(m.path('commits', c2, 'top')).st_mode & 0o777 == 0o444
        assert os.getxattr(m.path('commits', c2), 'user.ugit.parents') == c1.encode()
        assert os.getxattr(m.path('commits', c2), 'user.ugit.author') == b''
        names = sorted(os.listdir(m.path('log', 'master')))
        assert len(names) == 2
        assert names[0].startswith('000001_') and names[0].endswith('_%s_first' % c1[:7])
        assert names[1].endswith('_%s_second' % c2[:7])


# ---- git repositories through the same core ----

def git(cwd, *args):
    return subprocess.run(['git', *args], cwd=cwd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).stdout


@pytest.fixture
def gitrepo(tmp_path):
    g = tmp_path / 'g'
    g.mkdir()
    git(g, 'init', '-q', '-b', 'main')
    (g / 'f').write_text('a\n')
    git(g, 'add', 'f')
    git(g, 'commit', '-qm', 'one')
    git(g, 'checkout', '-qb', 'side')
    (g / 'g').write_text('b\n')
    git(g, 'add', 'g')
    git(g, 'commit', '-qm', 'side\n\nbody')
    git(g, 'checkout', '-q', 'main')
    (g / 'f').write_text('a\nc\n')
    git(g, 'commit', '-qam', 'two')
    git(g, 'merge', '-q', '--no-edit', 'side')
    git(g, 'tag', '-a', 'v1', '-m', 'tag v1')
    git(g, 'tag', 'light', 'HEAD~1')
    return g


def test_git_repository_read_commands(gitrepo):
    g = gitrepo

    def rev(x):
        return git(g, 'rev-parse', x).decode().strip()
    head = rev('HEAD')
    # log: every commit git lists, messages as stored, refs (annotated tags peeled)
    out = run_ugit(g, 'log').text
    ids = [l.split()[1] for l in out.splitlines() if l.startswith('commit ')]
    assert sorted(ids) == sorted(git(g, 'rev-list', 'HEAD').decode().split())
    assert ids[:3] == git(g, 'rev-list', '--first-parent', 'HEAD').decode().split()
    assert out.startswith('commit %s (HEAD, refs/heads/main, refs/tags/v1)\n\n' % head)
    assert log_entry(rev('side'), 'side\n\nbody', ['refs/heads/side']) in out
    # cat-file prints the raw content, as git cat-file TYPE does
    for name, type_ in (('HEAD', 'commit'), ('v1', 'tag'), ('HEAD^{tree}', 'tree')):
        assert run_ugit(g, 'cat-file', rev(name)).out == git(g, 'cat-file', type_, rev(name))
    # hash-object writes a git blob
    (g / 'h').write_text('hashed\n')
    assert run_ugit(g, 'hash-object', 'h').text == git(g, 'hash-object', 'h').decode()
    assert git(g, 'cat-file', '-t', git(g, 'hash-object', 'h').decode().strip()) == b'blob\n'
    # merge-base as git's, either way round
    assert run_ugit(g, 'merge-base', 'main', 'side').text == git(g, 'merge-base', 'main', 'side').decode()
    assert run_ugit(g, 'merge-base', 'side', rev('HEAD~1')).text == git(g, 'merge-base', 'HEAD~1', 'side').decode()
    # branch and tag
    assert run_ugit(g, 'branch').text == git(g, 'branch').decode()
    assert run_ugit(g, 'branch', 'new', 'side').text == 'Branch new created at %s\n' % rev('side')[:10]
    assert rev('new') == rev('side')
    run_ugit(g, 'tag', 'ut', 'side')
    assert rev('ut') == rev('side')
    assert run_ugit(g, 'branch').text == git(g, 'branch').decode()
    # show and diff between two commits
    show = run_ugit(g, 'show', 'side').text
    assert show.startswith(log_entry(rev('side'), 'side\n\nbody'))
    assert show.endswith('--- a/g\n+++ b/g\n@@ -0,0 +1 @@\n+b\n')
    d = run_ugit(g, 'diff', 'main', 'side').text
    assert d == '--- a/f\n+++ b/f\n@@ -1,2 +1 @@\n a\n-c\n'
    # k draws from git's refs
    dot = run_ugit(g, 'k').text
    assert '"refs/tags/v1" -> "%s"' % head in dot and '"HEAD" -> "refs/heads/main"' in dot
    # what needs ugit's index says so in one line
    for args in (['status'], ['add', 'f'], ['commit', '-m', 'x'], ['checkout', 'side'],
                 ['merge', 'side'], ['write-tree'], ['diff'], ['read-tree', 'HEAD'],
                 ['reset', 'HEAD'], ['fetch', '.'], ['push', '.', 'main']):
        r = run_ugit(g, *args, rc=1)
        assert 'needs a ugit repository' in r.err, r
    # and what ugit wrote is what git accepts
    git(g, 'fsck', '--strict')
