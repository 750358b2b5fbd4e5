"""Builders of test repositories: real ones made by git, and hostile ones written byte by byte.

Every builder takes a directory that does not exist yet (it is created), builds the
repository inside it, and returns a Fixture (or a Hostile) saying where the repository
is and what is known about it. Builders only need git 2.39 and the Python standard
library, so the FUSE mount tests reuse them as they are:

    import fixtures
    fixtures.isolate(home_dir)                  # once: git config of HOME, fixed idents
    fx = fixtures.build('packed', tmp / 'packed')
    fx.path, fx.git('rev-parse', 'HEAD')

KINDS names the repositories git can read (plus 'ugit'); HOSTILE names the hostile ones.
"""

import dataclasses
import hashlib
import os
import random
import shutil
import struct
import subprocess
import zlib

EPOCH = 1700000000  # author and committer times start here, one minute per commit

IDENT = {
    'GIT_AUTHOR_NAME': 'A U Thor',
    'GIT_AUTHOR_EMAIL': 'author@example.com',
    'GIT_COMMITTER_NAME': 'C O Mitter',
    'GIT_COMMITTER_EMAIL': 'committer@example.com',
}


def isolate(home):
    """Make this process and its children independent of the user's git setup.

    HOME (and XDG_CONFIG_HOME) point into home, which gets a small global config;
    system config is off; identities, time zone and locale are fixed."""
    home = os.fspath(home)
    os.makedirs(home, exist_ok=True)
    for key in list(os.environ):
        if key.startswith('GIT_'):
            del os.environ[key]
    os.environ.update(IDENT)
    os.environ.update({
        'HOME': home,
        'XDG_CONFIG_HOME': os.path.join(home, '.config'),
        'GIT_CONFIG_NOSYSTEM': '1',
        'GIT_TERMINAL_PROMPT': '0',
        'TZ': 'UTC',
        'LC_ALL': 'C',
    })
    with open(os.path.join(home, '.gitconfig'), 'w') as f:
        f.write('[user]\n\tname = U Ser\n\temail = user@example.com\n'
                '[init]\n\tdefaultBranch = main\n'
                '[gc]\n\tauto = 0\n'
                '[advice]\n\tdetachedHead = false\n\tnestedTag = false\n'
                '[protocol "file"]\n\tallow = always\n'
                '[core]\n\tquotePath = true\n')


class GitError(Exception):
    pass


def run_git(args, cwd=None, input=None, env=None, check=True):
    """Run git; returns stdout bytes. GitError with stderr when check and it fails."""
    p = subprocess.run(['git', *args], cwd=cwd, input=input, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise GitError('git %s: exit %d: %s' % (' '.join(map(str, args)), p.returncode,
                                                p.stderr.decode(errors='replace')))
    return p.stdout


@dataclasses.dataclass
class Fixture:
    kind: str
    path: str            # the REPOSITORY argument (work tree, bare dir, .ugit's parent)
    gitdir: str          # the repository's own directory (.git, worktree gitdir, bare, .ugit)
    git_args: list       # how to point git at it (empty for ugit: git cannot read it)
    algo: str = 'sha1'
    workdir: str = None  # None when bare
    facts: dict = dataclasses.field(default_factory=dict)

    def git(self, *args, input=None, check=True):
        """Run git (the oracle) on this repository; stdout bytes."""
        assert self.git_args, 'git cannot read a %s repository' % self.kind
        return run_git([*self.git_args, *args], input=input, check=check)

    def git_lines(self, *args):
        return self.git(*args).decode('utf-8', 'surrogateescape').splitlines()

    @property
    def hexsz(self):
        return 64 if self.algo == 'sha256' else 40


# --- a work tree driven by git ------------------------------------------------

class Repo:
    """A repository being built with git, with deterministic commit times."""

    def __init__(self, path, object_format=None, branch='main', bare=False, init=True):
        self.path = os.fspath(path)
        self.tick = 0
        if init:
            args = ['init', '-q', '-b', branch]
            if object_format:
                args.append('--object-format=' + object_format)
            if bare:
                args.append('--bare')
            run_git([*args, self.path])

    def env(self):
        env = dict(os.environ)
        date = '%d +0000' % (EPOCH + 60 * self.tick)
        env['GIT_AUTHOR_DATE'] = date
        env['GIT_COMMITTER_DATE'] = date
        return env

    def git(self, *args, input=None, check=True):
        return run_git(['-C', self.path, *args], input=input, env=self.env(), check=check)

    def rev(self, rev):
        return self.git('rev-parse', '--verify', '-q', rev).decode().strip()

    def _abs(self, rel):
        return os.path.join(os.fsencode(self.path), os.fsencode(rel))

    def write(self, rel, data, mode=None):
        p = self._abs(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.islink(p):
            os.unlink(p)
        with open(p, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(p, mode)

    def symlink(self, rel, target):
        p = self._abs(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(os.fsencode(target), p)

    def remove(self, rel):
        p = self._abs(rel)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)

    def commit(self, message):
        self.git('add', '-A')
        self.git('commit', '-q', '--allow-empty', '--no-verify', '-m', message)
        self.tick += 1
        return self.rev('HEAD')

    def merge(self, branch, message):
        self.git('merge', '-q', '--no-ff', '--no-edit', '-m', message, branch)
        self.tick += 1
        return self.rev('HEAD')

    def tag(self, name, target='HEAD', message=None):
        if message is None:
            self.git('tag', name, target)
        else:
            self.git('tag', '-a', '-m', message, name, target)
        self.tick += 1

    @property
    def gitdir(self):
        return os.path.realpath(os.path.join(self.path, '.git'))


def _fixture(kind, repo, algo='sha1', **facts):
    path = os.path.realpath(repo.path)
    return Fixture(kind=kind, path=path, gitdir=repo.gitdir, git_args=['-C', path],
                   algo=algo, workdir=path, facts=dict(facts))


C_SOURCE = ''.join('int f%d(int x) { return x * %d + %d; }\n' % (i, i, i * i) for i in range(60))


def standard_history(r):
    """A small history with the usual shapes: dirs, an exec file, a symlink, a binary
    file, a side branch merged with --no-ff (so first-parent differs from all), a delete."""
    r.write('README.md', 'hello\n')
    r.write('src/main.c', C_SOURCE)
    r.write('src/util/helpers.h', '#define HELP 1\n')
    r.write('bin/run.sh', '#!/bin/sh\necho run\n', mode=0o755)
    r.symlink('link', 'README.md')
    first = r.commit('initial import')
    r.write('README.md', 'hello\nworld\n')
    r.commit('readme: add world')
    r.git('checkout', '-q', '-b', 'topic')
    r.write('src/topic.c', 'int topic(void) { return 1; }\n')
    r.commit('topic: add topic.c')
    r.write('src/topic.c', 'int topic(void) { return 2; }\nint more(void) { return 3; }\n')
    r.commit('topic: more')
    r.git('checkout', '-q', 'main')
    r.write('src/main.c', C_SOURCE.replace('* 7 +', '* 70 +'))
    r.commit('main: change f7')
    r.merge('topic', 'Merge branch topic')
    r.remove('src/util')
    r.commit('remove helpers')
    r.write('data/blob.bin', bytes(range(256)) * 40)
    r.write('bin/run.sh', '#!/bin/sh\necho run fast\n', mode=0o755)
    head = r.commit('add binary data')
    return {'first': first, 'head': head}


# --- the git-made fixtures ----------------------------------------------------

def build_loose(dest):
    """Loose objects and loose refs only, as git leaves them before any gc."""
    r = Repo(dest)
    facts = standard_history(r)
    return _fixture('loose', r, **facts)


def build_packed(dest):
    """git gc (one pack, packed-refs), then one more commit: loose over packed."""
    r = Repo(dest)
    facts = standard_history(r)
    r.git('gc', '-q')
    r.write('after-gc.txt', 'written after gc\n')
    facts['loose_head'] = r.commit('after gc')
    facts['packed_only_branch'] = 'topic'
    return _fixture('packed', r, **facts)


def _versions_history(r, commits=90, seed=7):
    """Many commits each changing a few lines of a few files: material for delta chains."""
    rnd = random.Random(seed)
    files = {'text/%02d.txt' % i: ['line %d of file %d: %s\n' % (j, i, 'x' * (j % 50))
                                   for j in range(300)] for i in range(6)}
    big = bytearray(rnd.getrandbits(8) for _ in range(200000))
    for n in range(commits):
        for name in rnd.sample(sorted(files), 3):
            lines = files[name]
            for _ in range(2):
                lines[rnd.randrange(len(lines))] = 'changed in commit %d: %d\n' % (n, rnd.random() * 1e9)
            if n % 7 == 0:
                lines.insert(rnd.randrange(len(lines)), 'inserted %d\n' % n)
            r.write(name, ''.join(lines))
        # Changes deep inside a 200 kB file: copies with 3-byte offsets.
        for _ in range(3):
            at = rnd.randrange(len(big) - 16)
            big[at:at + 8] = rnd.getrandbits(64).to_bytes(8, 'little')
        r.write('bin/big.dat', bytes(big))
        r.commit('version %d' % n)


def build_deep_deltas(dest):
    """Many versions of files, then git gc --aggressive: long OFS_DELTA chains."""
    r = Repo(dest)
    facts = standard_history(r)
    _versions_history(r)
    r.git('gc', '-q', '--aggressive')
    facts['max_depth'] = max_delta_depth(r)
    facts['pack_types'] = pack_census(r.gitdir)
    return _fixture('deep_deltas', r, **facts)


def build_ref_deltas(dest):
    """A pack whose deltas name their bases by id (REF_DELTA), not by offset."""
    r = Repo(dest)
    facts = standard_history(r)
    _versions_history(r, commits=30, seed=11)
    r.git('-c', 'repack.useDeltaBaseOffset=false', 'repack', '-q', '-a', '-d', '-f',
          '--depth=20', '--window=50')
    facts['pack_types'] = pack_census(r.gitdir)
    return _fixture('ref_deltas', r, **facts)


def build_large_offsets(dest):
    """An .idx v2 whose offsets past 64 bytes are stored in the 64-bit table."""
    r = Repo(dest)
    facts = standard_history(r)
    r.git('gc', '-q')
    packdir = os.path.join(r.gitdir, 'objects', 'pack')
    for name in os.listdir(packdir):
        if name.endswith('.pack'):
            pack = os.path.join(packdir, name)
            tmp = pack[:-5] + '.idx.tmp'
            r.git('index-pack', '--index-version=2,64', '-o', tmp, pack)
            os.replace(tmp, pack[:-5] + '.idx')
    facts['large_offsets'] = sum(idx_large_offset_count(os.path.join(packdir, n))
                                 for n in os.listdir(packdir) if n.endswith('.idx'))
    return _fixture('large_offsets', r, **facts)


def build_multi_pack(dest):
    """Three packs made by incremental repacks, and loose objects on top."""
    r = Repo(dest)
    r.write('a.txt', 'pack one\n')
    r.commit('one')
    r.git('repack', '-q', '-d')
    r.write('b.txt', 'pack two\n')
    r.write('a.txt', 'pack one, changed in two\n')
    r.commit('two')
    r.git('repack', '-q', '-d')
    r.write('c/d.txt', 'pack three\n')
    r.commit('three')
    r.git('repack', '-q', '-d')
    r.write('loose.txt', 'still loose\n')
    head = r.commit('four')
    packs = [n for n in os.listdir(os.path.join(r.gitdir, 'objects', 'pack')) if n.endswith('.pack')]
    return _fixture('multi_pack', r, head=head, packs=len(packs))


def build_tags(dest):
    """Annotated tags (of a commit, a tree, a blob, a tag), lightweight tags, a tag and a
    branch of the same name, a symbolic ref under refs/remotes; packed with peeled lines,
    then some loose refs overriding packed ones."""
    r = Repo(dest)
    facts = standard_history(r)
    first = facts['first']
    r.tag('v1.0', first, 'release 1.0')
    r.tag('v2.0', 'HEAD', 'release 2.0')
    r.tag('v2.0-again', 'v2.0', 'a tag of a tag')
    r.tag('v2.0-thrice', 'v2.0-again', 'a tag of a tag of a tag')
    r.tag('light', 'HEAD~1')
    r.tag('tree-tag', 'HEAD^{tree}', 'a tag of a tree')
    r.tag('blob-tag', 'HEAD:README.md', 'a tag of a blob')
    r.tag('light-blob', 'HEAD:README.md')
    r.git('branch', 'both', 'HEAD~2')
    r.tag('both', first, 'same name as a branch')
    r.git('update-ref', 'refs/remotes/origin/main', 'HEAD~1')
    r.git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
    r.git('pack-refs', '--all')
    # Loose refs over packed ones, and refs only loose.
    r.write('late.txt', 'late\n')
    facts['head'] = r.commit('after pack-refs')
    r.tag('late-light', 'HEAD')
    r.tag('late-annotated', 'HEAD', 'made after pack-refs')
    facts['ambiguous_name'] = 'both'
    return _fixture('tags', r, **facts)


ODD_NAMES = [
    'with space.txt', 'tab\there', 'new\nline', '-leading-dash', '--double', 'quote"d',
    'back\\slash', 'ünïcödé.txt', '日本語.md', '🎉.txt', 'star*?[x]', '#hash', 'HEAD',
    'a.b', 'a-b', 'a0', 'ab', 'L' * 251 + '.txt',
]


def build_odd_names(dest):
    """Names git allows and shells do not like, symlinks, exec bits, a gitlink, deep dirs."""
    r = Repo(dest)
    r.write('README', 'odd names\n')
    for i, name in enumerate(ODD_NAMES):
        r.write('names/' + name, 'file %d\n' % i)
    r.write(b'names/bytes-\xff\xfe-not-utf8', b'latin junk\n')
    r.write('names/a/inside', 'a dir sorting against a.b, a-b, a0\n')
    r.write('empty', '')
    r.write('exec/tool', '#!/bin/sh\n', mode=0o755)
    r.write('exec/plain', 'not executable\n', mode=0o644)
    r.symlink('links/to-readme', '../README')
    r.symlink('links/dangling', 'nowhere/at/all')
    r.symlink('links/absolute', '/etc/passwd')
    r.symlink('links/dotdot', '..')
    r.symlink('links/odd target', 'with space\nand newline')
    r.write('/'.join(['d%d' % i for i in range(64)]) + '/deep.txt', 'sixty-four levels down\n')
    first = r.commit('odd names')
    # A submodule entry: a commit id in the tree, with no object behind it.
    gitlink = hashlib.sha1(b'some other repository').hexdigest()
    r.git('update-index', '--add', '--cacheinfo', '160000,%s,sub/module' % gitlink)
    r.git('commit', '-q', '-m', 'add a gitlink')
    r.tick += 1
    head = r.rev('HEAD')
    return _fixture('odd_names', r, first=first, head=head, gitlink=gitlink)


def build_slash_branches(dest):
    """Branch and tag names with slashes; HEAD on one of them."""
    r = Repo(dest)
    facts = standard_history(r)
    for name, rev in [('feature/x', 'HEAD~1'), ('feature/y/z', 'HEAD~2'),
                      ('release/1.0', facts['first']), ('a/b/c/d', 'HEAD')]:
        r.git('branch', name, rev)
    r.git('checkout', '-q', 'feature/x')
    r.write('feature.txt', 'on feature/x\n')
    facts['feature_x'] = r.commit('work on feature/x')
    r.tag('v1/beta', 'HEAD~1', 'slashed tag')
    facts['head_ref'] = 'refs/heads/feature/x'
    return _fixture('slash_branches', r, **facts)


def build_sha256(dest):
    """A SHA-256 repository: packed, with an annotated tag, then loose objects on top."""
    r = Repo(dest, object_format='sha256')
    facts = standard_history(r)
    r.tag('v1.0', facts['first'], 'sha256 tag')
    r.git('gc', '-q')
    r.write('after.txt', 'after gc\n')
    facts['head'] = r.commit('after gc')
    r.tag('v2.0', 'HEAD', 'loose tag')
    return _fixture('sha256', r, algo='sha256', **facts)


def build_bare_noconfig(dest):
    """git clone --bare, then its config file deleted."""
    os.makedirs(dest)
    src = Repo(os.path.join(dest, 'src'))
    facts = standard_history(src)
    bare = os.path.join(os.path.realpath(dest), 'bare.git')
    run_git(['clone', '-q', '--bare', src.path, bare])
    os.unlink(os.path.join(bare, 'config'))
    return Fixture(kind='bare_noconfig', path=bare, gitdir=bare, git_args=['--git-dir=' + bare],
                   workdir=None, facts=facts)


def bare_fixture(kind, path, **facts):
    """A Fixture for the bare repository at path."""
    path = os.path.realpath(path)
    return Fixture(kind=kind, path=path, gitdir=path, git_args=['--git-dir=' + path],
                   workdir=None, facts=dict(facts))


def build_packed_bare(dest):
    """The packed repository with its .git moved out and made bare, objects and refs as
    they were: no worktree has a branch checked out, so work/ shows HEAD's branch."""
    fx = build_packed(os.path.join(dest, 'src'))
    bare = os.path.join(os.path.realpath(dest), 'packed.git')
    os.rename(fx.gitdir, bare)
    run_git(['--git-dir=' + bare, 'config', 'core.bare', 'true'])
    shutil.rmtree(fx.path)
    return bare_fixture('packed_bare', bare, **fx.facts)


def build_worktree(dest):
    """A linked work tree (git worktree add): its .git is a file, its HEAD its own."""
    os.makedirs(dest)
    main = Repo(os.path.join(dest, 'main'))
    facts = standard_history(main)
    wt_path = os.path.join(os.path.realpath(dest), 'wt')
    main.git('worktree', 'add', '-q', '-b', 'wt', wt_path, 'HEAD~1')
    wt = Repo(wt_path, init=False)
    wt.tick = main.tick
    wt.write('in-worktree.txt', 'made in the linked work tree\n')
    facts['wt_head'] = wt.commit('commit in worktree')
    gitdir = os.path.realpath(os.path.join(main.gitdir, 'worktrees', 'wt'))
    facts['commondir'] = main.gitdir
    facts['main_path'] = os.path.realpath(main.path)
    return Fixture(kind='worktree', path=wt_path, gitdir=gitdir, git_args=['-C', wt_path],
                   workdir=wt_path, facts=facts)


def build_alternates(dest):
    """c borrows from b (relative alternates path), which borrows from a (absolute)."""
    os.makedirs(dest)
    dest = os.path.realpath(dest)
    a = Repo(os.path.join(dest, 'a'))
    facts = standard_history(a)
    a.git('gc', '-q')
    run_git(['clone', '-q', '--shared', a.path, os.path.join(dest, 'b')])
    b = Repo(os.path.join(dest, 'b'), init=False)
    b.tick = a.tick
    b.write('from-b.txt', 'b\n')
    facts['b_head'] = b.commit('commit in b')
    run_git(['clone', '-q', '--shared', b.path, os.path.join(dest, 'c')])
    c = Repo(os.path.join(dest, 'c'), init=False)
    c.tick = b.tick
    with open(os.path.join(c.gitdir, 'objects', 'info', 'alternates'), 'w') as f:
        f.write('../../../b/.git/objects\n')
    c.write('from-c.txt', 'c\n')
    facts['head'] = c.commit('commit in c')
    return _fixture('alternates', c, **facts)


def build_detached(dest):
    """HEAD detached at a commit no branch contains."""
    r = Repo(dest)
    facts = standard_history(r)
    r.git('checkout', '-q', '--detach', 'HEAD~2')
    r.write('detached.txt', 'only HEAD reaches me\n')
    facts['detached'] = r.commit('commit on a detached HEAD')
    return _fixture('detached', r, **facts)


def build_empty(dest):
    """git init and nothing else: HEAD names an unborn branch."""
    r = Repo(dest)
    return _fixture('empty', r, head_ref='refs/heads/main')


# --- ambiguous abbreviated ids ------------------------------------------------

def object_id(algo, otype, data):
    if isinstance(otype, str):
        otype = otype.encode()
    return hashlib.new(algo, b'%s %d\0' % (otype, len(data)) + data).hexdigest()


def colliding_blobs(algo='sha1', digits=4, count=2, seed=b'blob'):
    """Contents of count blobs whose ids share their first digits hex digits."""
    seen = {}
    n = 0
    while True:
        data = b'%s %d\n' % (seed, n)
        prefix = object_id(algo, 'blob', data)[:digits]
        seen.setdefault(prefix, []).append(data)
        if len(seen[prefix]) == count:
            return prefix, seen[prefix]
        n += 1


def build_ambiguous(dest, object_format=None):
    """A repository with two blobs sharing a 4-digit prefix (one packed, one loose:
    the ambiguity spans backends), and a commit whose tree holds both."""
    r = Repo(dest, object_format=object_format)
    algo = object_format or 'sha1'
    prefix, (one, two) = colliding_blobs(algo)
    r.write('one', one)
    r.commit('first of the pair')
    r.git('repack', '-q', '-a', '-d')
    r.write('two', two)
    r.commit('second of the pair')
    return _fixture('ambiguous', r, algo=algo, prefix=prefix,
                    blobs=[object_id(algo, 'blob', one), object_id(algo, 'blob', two)])


# --- a ugit repository, byte by byte ------------------------------------------

def ugit_tree(entries):
    """ugit's text tree: "TYPE OID NAME\\n" lines sorted by name."""
    return ''.join('%s %s %s\n' % (t, o, n) for n, o, t in sorted(entries)).encode()


def build_ugit(dest):
    """A ugit repository: uncompressed "TYPE\\0CONTENT" objects, text trees, a merge,
    HEAD "ref: refs/heads/master" without newline."""
    ugit = os.path.join(os.path.realpath(dest), '.ugit')
    for d in ('objects', 'refs/heads', 'refs/tags'):
        os.makedirs(os.path.join(ugit, d))
    objects = {}

    def put(otype, data):
        raw = otype.encode() + b'\0' + data
        oid = hashlib.sha1(raw).hexdigest()
        with open(os.path.join(ugit, 'objects', oid), 'wb') as f:
            f.write(raw)
        objects[oid] = (otype, data)
        return oid

    def commit(tree, parents, message):
        text = 'tree %s\n' % tree + ''.join('parent %s\n' % p for p in parents)
        return put('commit', (text + '\n' + message + '\n').encode())

    hello = put('blob', b'hello\n')
    world = put('blob', b'world\n')
    side = put('blob', b'from the side branch\n')
    sub = put('tree', ugit_tree([('world.txt', world, 'blob')]))
    root1 = put('tree', ugit_tree([('hello.txt', hello, 'blob')]))
    root2 = put('tree', ugit_tree([('hello.txt', hello, 'blob'), ('sub', sub, 'tree')]))
    root3 = put('tree', ugit_tree([('hello.txt', hello, 'blob'), ('side file.txt', side, 'blob')]))
    root4 = put('tree', ugit_tree([('hello.txt', hello, 'blob'), ('side file.txt', side, 'blob'),
                                   ('sub', sub, 'tree')]))
    c1 = commit(root1, [], 'first')
    c2 = commit(root2, [c1], 'second')
    c3 = commit(root3, [c1], 'side')
    c4 = commit(root4, [c2, c3], 'merge side')
    for name, value in [('HEAD', 'ref: refs/heads/master'), ('refs/heads/master', c4),
                        ('refs/heads/side', c3), ('refs/tags/v1', c1)]:
        with open(os.path.join(ugit, name), 'w') as f:
            f.write(value)
    path = os.path.dirname(ugit)
    facts = {
        'objects': objects,
        'commits': {'c1': c1, 'c2': c2, 'c3': c3, 'c4': c4},
        'refs': {'refs/heads/master': c4, 'refs/heads/side': c3, 'refs/tags/v1': c1},
        'head_ref': 'refs/heads/master',
        'first_parent': {'master': [c4, c2, c1], 'side': [c3, c1]},
        'ls_tree_r': {c4: ['100644 blob %s\thello.txt' % hello,
                           '100644 blob %s\tside file.txt' % side,
                           '100644 blob %s\tsub/world.txt' % world]},
        'ls_tree': {c2: ['100644 blob %s\thello.txt' % hello, '040000 tree %s\tsub' % sub]},
    }
    return Fixture(kind='ugit', path=path, gitdir=ugit, git_args=[], workdir=path, facts=facts)


KINDS = {
    'loose': build_loose,
    'packed': build_packed,
    'deep_deltas': build_deep_deltas,
    'ref_deltas': build_ref_deltas,
    'large_offsets': build_large_offsets,
    'multi_pack': build_multi_pack,
    'tags': build_tags,
    'odd_names': build_odd_names,
    'slash_branches': build_slash_branches,
    'sha256': build_sha256,
    'bare_noconfig': build_bare_noconfig,
    'worktree': build_worktree,
    'alternates': build_alternates,
    'detached': build_detached,
    'empty': build_empty,
    'ambiguous': build_ambiguous,
    'ugit': build_ugit,
}


# --- reading git's bytes (for fixture self-checks and tests) ------------------

def parse_batch(out):
    """Parse `git cat-file --batch` output into [(oid, type, content)]; a "missing"
    line gives (name, 'missing', None)."""
    records, pos = [], 0
    while pos < len(out):
        nl = out.index(b'\n', pos)
        head = out[pos:nl].decode('utf-8', 'replace').split(' ')
        pos = nl + 1
        if len(head) == 2 and head[1] in ('missing', 'ambiguous'):
            records.append((head[0], head[1], None))
            continue
        oid, otype, size = head[0], head[1], int(head[2])
        records.append((oid, otype, out[pos:pos + size]))
        pos += size + 1
    return records


def all_objects(fx):
    """Every object git sees in the repository (alternates too): {oid: (type, bytes)}."""
    out = fx.git('cat-file', '--batch-all-objects', '--batch')
    return {oid: (t, data) for oid, t, data in parse_batch(out)}


def _idx_entries(idx_path, rawsz=20):
    """[(oid_hex, offset)] of an .idx v2 made by git (trusted: fixture self-checks only)."""
    with open(idx_path, 'rb') as f:
        idx = f.read()
    n = struct.unpack('>I', idx[8 + 255 * 4:8 + 256 * 4])[0]
    base = 8 + 1024
    off_at = base + n * rawsz + n * 4
    large_at = off_at + n * 4
    result = []
    for i in range(n):
        off = struct.unpack('>I', idx[off_at + 4 * i:off_at + 4 * i + 4])[0]
        if off & 0x80000000:
            k = off & 0x7fffffff
            off = struct.unpack('>Q', idx[large_at + 8 * k:large_at + 8 * k + 8])[0]
        result.append((idx[base + i * rawsz:base + (i + 1) * rawsz].hex(), off))
    return result


def idx_large_offset_count(idx_path, rawsz=20):
    with open(idx_path, 'rb') as f:
        idx = f.read()
    n = struct.unpack('>I', idx[8 + 255 * 4:8 + 256 * 4])[0]
    off_at = 8 + 1024 + n * rawsz + n * 4
    offs = struct.unpack('>%dI' % n, idx[off_at:off_at + 4 * n])
    return sum(1 for o in offs if o & 0x80000000)


def pack_census(gitdir, rawsz=20):
    """How many entries of each type code the packs of gitdir hold: {'ofs_delta': n, ...}."""
    names = {1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag', 6: 'ofs_delta', 7: 'ref_delta'}
    count = {}
    packdir = os.path.join(gitdir, 'objects', 'pack')
    for name in os.listdir(packdir):
        if not name.endswith('.idx'):
            continue
        with open(os.path.join(packdir, name[:-4] + '.pack'), 'rb') as f:
            pack = f.read()
        for _, off in _idx_entries(os.path.join(packdir, name), rawsz):
            t = names.get((pack[off] >> 4) & 7, 'bad')
            count[t] = count.get(t, 0) + 1
    return count


def max_delta_depth(r):
    """The longest delta chain in r's packs, from git verify-pack."""
    depth = 0
    packdir = os.path.join(r.gitdir, 'objects', 'pack')
    for name in os.listdir(packdir):
        if name.endswith('.idx'):
            out = r.git('verify-pack', '-v', os.path.join(packdir, name)).decode()
            for line in out.splitlines():
                if line.startswith('chain length = '):
                    depth = max(depth, int(line.split('=')[1].split(':')[0]))
    return depth


# --- writing objects by hand --------------------------------------------------

TYPE_CODES = {'commit': 1, 'tree': 2, 'blob': 3, 'tag': 4}
OFS_DELTA, REF_DELTA = 6, 7


def write_file(path, data, mode=0o444):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.chmod(path, 0o644)
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


def write_loose_raw(gitdir, oid, file_bytes):
    """Put file_bytes (normally zlib data) where the loose object oid lives."""
    write_file(os.path.join(gitdir, 'objects', oid[:2], oid[2:]), file_bytes)


def write_loose(gitdir, otype, data, algo='sha1'):
    """A well-formed loose object; returns its id."""
    oid = object_id(algo, otype, data)
    write_loose_raw(gitdir, oid, zlib.compress(b'%s %d\0' % (otype.encode(), len(data)) + data))
    return oid


def tree_bytes(entries):
    """git's binary tree from [(mode_str, name (str|bytes), oid_hex)], in git's order
    (a tree sorts as if its name ended with "/"); entries are written as given when
    they must stay unsorted (hostile names)."""
    def key(e):
        name = e[1].encode() if isinstance(e[1], str) else e[1]
        return name + (b'/' if e[0] in ('40000', '040000') else b'')
    out = b''
    for mode, name, oid in sorted(entries, key=key):
        name = name.encode() if isinstance(name, str) else name
        out += mode.encode() + b' ' + name + b'\0' + bytes.fromhex(oid)
    return out


def raw_tree_bytes(entries):
    """As tree_bytes, in the given order, nothing checked."""
    out = b''
    for mode, name, oid in entries:
        name = name.encode() if isinstance(name, str) else name
        out += mode.encode() + b' ' + name + b'\0' + bytes.fromhex(oid)
    return out


def commit_bytes(tree, parents, message, when=EPOCH):
    text = 'tree %s\n' % tree + ''.join('parent %s\n' % p for p in parents)
    ident = 'Hostile Builder <hostile@example.com> %d +0000' % when
    text += 'author %s\ncommitter %s\n\n%s\n' % (ident, ident, message)
    return text.encode()


def delta_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def delta_copy(offset, size):
    """A copy instruction; size 0x10000 is encoded as no size bytes, as git does."""
    op, args = 0x80, bytearray()
    for i in range(4):
        b = (offset >> (8 * i)) & 0xff
        if b:
            op |= 1 << i
            args.append(b)
    if size != 0x10000:
        for i in range(3):
            b = (size >> (8 * i)) & 0xff
            if b:
                op |= 0x10 << i
                args.append(b)
    return bytes([op]) + bytes(args)


def delta_insert(data):
    out = b''
    for i in range(0, len(data), 127):
        chunk = data[i:i + 127]
        out += bytes([len(chunk)]) + chunk
    return out


def make_delta(base_size, result_size, *ops):
    return delta_varint(base_size) + delta_varint(result_size) + b''.join(ops)


def pack_entry_header(type_code, size):
    out = bytearray()
    b = (type_code << 4) | (size & 15)
    size >>= 4
    while size:
        out.append(b | 0x80)
        b = size & 0x7f
        size >>= 7
    out.append(b)
    return bytes(out)


def ofs_distance(distance):
    out = [distance & 0x7f]
    distance >>= 7
    while distance:
        distance -= 1
        out.insert(0, 0x80 | (distance & 0x7f))
        distance >>= 7
    return bytes(out)


class PackBuilder:
    """A pack (version 2) and its .idx v2, entry by entry, hostile entries allowed."""

    def __init__(self, algo='sha1'):
        self.algo = algo
        self.body = bytearray(b'PACK' + struct.pack('>II', 2, 0))
        self.entries = []  # (oid_hex, offset, crc32)

    def raw(self, oid, entry):
        """Append entry bytes as they are; the idx maps oid to them."""
        off = len(self.body)
        self.body += entry
        self.entries.append((oid, off, zlib.crc32(entry)))
        return off

    def add(self, otype, data, oid=None, size=None):
        """A whole object; size overrides the size written in the entry header."""
        oid = oid or object_id(self.algo, otype, data)
        hdr = pack_entry_header(TYPE_CODES[otype], len(data) if size is None else size)
        return oid, self.raw(oid, hdr + zlib.compress(data))

    def add_ofs_delta(self, oid, base_offset, delta, distance=None):
        off = len(self.body)
        dist = off - base_offset if distance is None else distance
        return self.raw(oid, pack_entry_header(OFS_DELTA, len(delta)) + ofs_distance(dist)
                        + zlib.compress(delta))

    def add_ref_delta(self, oid, base_oid, delta):
        return self.raw(oid, pack_entry_header(REF_DELTA, len(delta)) + bytes.fromhex(base_oid)
                        + zlib.compress(delta))

    def pack_bytes(self):
        body = bytearray(self.body)
        body[8:12] = struct.pack('>I', len(self.entries))
        return bytes(body) + hashlib.new(self.algo, body).digest()

    def idx_bytes(self, pack_checksum, large_over=None):
        """The .idx v2; offsets above large_over (and all >= 2^31) go to the 64-bit table."""
        entries = sorted(self.entries, key=lambda e: bytes.fromhex(e[0]))
        fanout = [0] * 256
        for oid, _, _ in entries:
            fanout[int(oid[:2], 16)] += 1
        for i in range(1, 256):
            fanout[i] += fanout[i - 1]
        small, large = [], []
        for _, off, _ in entries:
            if off >= 0x80000000 or (large_over is not None and off > large_over):
                small.append(0x80000000 | len(large))
                large.append(off)
            else:
                small.append(off)
        data = (b'\xfftOc' + struct.pack('>I', 2) + struct.pack('>256I', *fanout)
                + b''.join(bytes.fromhex(e[0]) for e in entries)
                + b''.join(struct.pack('>I', e[2]) for e in entries)
                + b''.join(struct.pack('>I', o) for o in small)
                + b''.join(struct.pack('>Q', o) for o in large)
                + pack_checksum)
        return data + hashlib.new(self.algo, data).digest()

    def write(self, gitdir, pack_mutator=None, idx_mutator=None, large_over=None):
        """Write objects/pack/pack-X.{pack,idx}; the mutators may damage either file
        (they get and return bytes). Returns the path of the .pack."""
        pack = self.pack_bytes()
        rawsz = hashlib.new(self.algo).digest_size
        checksum = pack[-rawsz:]
        idx = self.idx_bytes(checksum, large_over)
        if pack_mutator:
            pack = pack_mutator(pack)
        if idx_mutator:
            idx = idx_mutator(idx)
        base = os.path.join(gitdir, 'objects', 'pack', 'pack-' + checksum.hex())
        write_file(base + '.pack', pack)
        write_file(base + '.idx', idx)
        return base + '.pack'


def idx_rehash(idx, algo='sha1'):
    """Recompute an idx's own trailing checksum after changing its bytes."""
    rawsz = hashlib.new(algo).digest_size
    return idx[:-rawsz] + hashlib.new(algo, idx[:-rawsz]).digest()


def fake_id(label, algo='sha1'):
    """A deterministic id for an object whose content never resolves."""
    return hashlib.new(algo, b'ugitfs hostile fixture: ' + label.encode()).hexdigest()


# --- hostile repositories -----------------------------------------------------

@dataclasses.dataclass
class Bad:
    """One hostile object and what reading it must do.

    check says which command shows the damage:
      'read'   - `ugtool cat-file -p OID` exits with a status in codes
      'tree'   - cat-file reads the raw bytes; `ugtool ls-tree OID` exits in codes
      'hidden' - `ugtool ls-tree OID` succeeds and shows exactly visible (names)
      'verify' - reads fine (content as stored) without --verify; with it exits in codes
      'commit' - `ugtool log-first-parent OID` exits in codes
      'ref'    - `ugtool rev-parse OID` (here a ref name) exits in codes
    culprits: ids (or names) one of which the error message must name.
    maybe_ok: the object may also read correctly (as content), e.g. an entry before
    the cut of a truncated pack.
    """
    oid: str
    what: str
    check: str = 'read'
    codes: tuple = (7,)
    culprits: tuple = ()
    content: bytes = None
    visible: tuple = ()
    maybe_ok: bool = False
    otype: str = 'blob'
    path: str = None  # its name in the hostile commit's tree, if any

    def __post_init__(self):
        if not self.culprits:
            self.culprits = (self.oid,)


@dataclasses.dataclass
class Hostile(Fixture):
    good: dict = dataclasses.field(default_factory=dict)   # oid -> (type, bytes)
    bad: list = dataclasses.field(default_factory=list)    # [Bad]
    branch: str = 'refs/heads/hostile'                      # a commit whose tree holds the bad ones
    commit: str = None


def _hostile_base(dest, kind):
    """A git repository with good objects in a pack and loose: what must keep working.
    Everything git is asked is asked here, before any damage is written."""
    r = Repo(dest)
    r.write('README', 'a repository with hostile objects\n')
    r.write('src/good.c', C_SOURCE)
    r.write('run.sh', '#!/bin/sh\n', mode=0o755)
    r.commit('good, packed')
    r.git('gc', '-q')
    r.write('loose.txt', 'a good loose object\n')
    r.commit('good, loose')
    fx = _fixture(kind, r)
    h = Hostile(**dataclasses.asdict(fx))
    h.good = all_objects(fx)
    entries = []
    for line in r.git('ls-tree', '-z', 'HEAD').split(b'\0'):
        if line:
            meta, name = line.split(b'\t', 1)
            mode, _, oid = meta.decode().split(' ')
            entries.append((mode.lstrip('0'), name, oid))
    h.facts.update(head=r.rev('HEAD'), head_tree=r.rev('HEAD^{tree}'),
                   readme=r.rev('HEAD:README'), head_entries=entries)
    return r, h


def _finish_hostile(r, h, extra_entries=()):
    """Write a commit (by hand: git must not touch the damage) whose tree holds the good
    files and each bad object that has a path, and point refs/heads/hostile at it."""
    entries = list(h.facts['head_entries'])
    for b in h.bad:
        if b.path:
            entries.append(('40000' if b.otype == 'tree' else '100644', b.path, b.oid))
    entries.extend(extra_entries)
    tree = write_loose(h.gitdir, 'tree', tree_bytes(entries))
    data = commit_bytes(tree, [h.facts['head']], 'hostile objects', EPOCH + 3600)
    commit = write_loose(h.gitdir, 'commit', data)
    write_file(os.path.join(h.gitdir, 'refs', 'heads', 'hostile'), (commit + '\n').encode(), 0o644)
    h.commit = commit
    h.good[tree] = ('tree', tree_bytes(entries))
    h.good[commit] = ('commit', data)
    return h


def build_bad_zlib(dest):
    """Loose objects whose zlib streams are garbage, truncated, or followed by junk."""
    r, h = _hostile_base(dest, 'bad_zlib')
    g = h.gitdir
    garbage = fake_id('zlib garbage')
    write_loose_raw(g, garbage, b'\x78\x9c' + b'\xff' * 40)
    h.bad.append(Bad(garbage, 'invalid deflate block', path='garbage'))
    not_zlib = fake_id('not zlib at all')
    write_loose_raw(g, not_zlib, b'this is not a zlib stream at all\n')
    h.bad.append(Bad(not_zlib, 'no zlib header', path='not-zlib'))
    data = bytes(random.Random(1).getrandbits(8) for _ in range(4000))
    cut = object_id('sha1', 'blob', data)
    whole = zlib.compress(b'blob %d\0' % len(data) + data)
    write_loose_raw(g, cut, whole[:len(whole) // 2])
    h.bad.append(Bad(cut, 'zlib stream cut in the middle', path='truncated'))
    bad_adler = object_id('sha1', 'blob', b'adler\n' * 50)
    z = bytearray(zlib.compress(b'blob 350\0' + b'adler\n' * 50))
    z[-1] ^= 0xff
    write_loose_raw(g, bad_adler, bytes(z))
    h.bad.append(Bad(bad_adler, 'wrong adler32 checksum', path='bad-adler'))
    empty = fake_id('empty file')
    write_loose_raw(g, empty, b'')
    h.bad.append(Bad(empty, 'empty object file', path='empty-file'))
    return _finish_hostile(r, h)


def build_bad_loose_header(dest):
    """Well-compressed loose objects whose "TYPE SIZE\\0" header lies or is malformed."""
    r, h = _hostile_base(dest, 'bad_loose_header')
    g = h.gitdir
    cases = [
        ('no-nul', b'blob 5hello', 'header without NUL'),
        ('bad-type', b'blub 5\0hello', 'unknown type'),
        ('bad-size', b'blob 5x\0hello', 'size not a number'),
        ('neg-size', b'blob -5\0hello', 'negative size'),
        ('too-short', b'blob 50\0hello', 'content shorter than the size'),
        ('too-long', b'blob 2\0hello', 'content longer than the size'),
        ('no-space', b'blob\0hello', 'no size at all'),
    ]
    for name, raw, what in cases:
        oid = fake_id('loose header ' + name)
        write_loose_raw(g, oid, zlib.compress(raw))
        h.bad.append(Bad(oid, what, path=name))
    return _finish_hostile(r, h)


def build_huge_size(dest):
    """Objects claiming sizes of terabytes (and past 2^64) in a loose header, a pack
    entry header, and a delta's result size."""
    r, h = _hostile_base(dest, 'huge_size')
    g = h.gitdir
    for name, size in [('tera', b'1099511627776'), ('max64', b'18446744073709551615'),
                       ('past64', b'99999999999999999999999999')]:
        oid = fake_id('huge loose ' + name)
        write_loose_raw(g, oid, zlib.compress(b'blob ' + size + b'\0tiny'))
        h.bad.append(Bad(oid, 'loose header claims %s bytes' % size.decode(), codes=(7, 8),
                         path='loose-' + name))
    p = PackBuilder()
    good_data = b'a good object in the same pack\n'
    good_oid, base_off = p.add('blob', good_data)
    h.good[good_oid] = ('blob', good_data)
    huge_oid = fake_id('huge pack entry')
    p.add('blob', b'tiny', oid=huge_oid, size=1 << 40)
    h.bad.append(Bad(huge_oid, 'pack entry claims 1 TiB', codes=(7, 8), path='packed-tera'))
    delta_oid = fake_id('huge delta result')
    p.add_ofs_delta(delta_oid, base_off,
                    make_delta(len(good_data), 1 << 40, delta_copy(0, len(good_data))))
    h.bad.append(Bad(delta_oid, 'delta result claims 1 TiB', codes=(7, 8), path='delta-tera'))
    p.write(g)
    return _finish_hostile(r, h)


def _blob_data(label, n=600):
    rnd = random.Random(label)
    return (label + ':\n').encode() + bytes(rnd.choice(b'abcdefghij\n') for _ in range(n))


def build_truncated_pack(dest):
    """A pack cut in the middle of its last entry (no trailer), and one shorter than
    its own header; their .idx files are intact."""
    r, h = _hostile_base(dest, 'truncated_pack')
    p = PackBuilder()
    items = [_blob_data('truncated %d' % i) for i in range(4)]
    oids = [p.add('blob', d)[0] for d in items]
    last_off = p.entries[-1][1]
    p.write(h.gitdir, pack_mutator=lambda b: b[:last_off + 40])
    for i, (oid, data) in enumerate(zip(oids, items)):
        if i < 3:
            # Before the cut: may read, or the whole pack may be refused.
            h.bad.append(Bad(oid, 'entry before the cut of a truncated pack', codes=(3, 7),
                             maybe_ok=True, content=data, path='before-cut-%d' % i))
        else:
            h.bad.append(Bad(oid, 'entry cut by the end of the pack', codes=(3, 7),
                             path='cut'))
    q = PackBuilder()
    tiny = _blob_data('in a pack shorter than its header')
    tiny_oid = q.add('blob', tiny)[0]
    q.write(h.gitdir, pack_mutator=lambda b: b[:10])
    h.bad.append(Bad(tiny_oid, 'pack file shorter than its header', codes=(3, 7), path='tiny-pack'))
    return _finish_hostile(r, h)


def build_bad_trailer(dest):
    """A pack whose trailing checksum differs from the one its .idx records (git says
    "packfile does not match index")."""
    r, h = _hostile_base(dest, 'bad_trailer')
    p = PackBuilder()
    items = [_blob_data('trailer %d' % i) for i in range(3)]
    oids = [p.add('blob', d)[0] for d in items]

    def flip(b):
        return b[:-1] + bytes([b[-1] ^ 0x55])
    p.write(h.gitdir, pack_mutator=flip)
    for i, oid in enumerate(oids):
        h.bad.append(Bad(oid, 'object of a pack with a wrong trailer', codes=(3, 7),
                         path='in-bad-pack-%d' % i))
    return _finish_hostile(r, h)


def _delta_pack(h, label):
    """A pack with a base blob and good deltas on it; returns (builder, base, base_offset)."""
    p = PackBuilder()
    base = _blob_data(label + ' base', 1000)
    base_oid, base_off = p.add('blob', base)
    h.good[base_oid] = ('blob', base)
    good1 = base[:500] + b'a good delta\n'
    g1 = object_id('sha1', 'blob', good1)
    p.add_ofs_delta(g1, base_off, make_delta(len(base), len(good1), delta_copy(0, 500),
                                             delta_insert(b'a good delta\n')))
    h.good[g1] = ('blob', good1)
    good2 = b'prefix\n' + base[100:900]
    g2 = object_id('sha1', 'blob', good2)
    p.add_ref_delta(g2, base_oid, make_delta(len(base), len(good2), delta_insert(b'prefix\n'),
                                             delta_copy(100, 800)))
    h.good[g2] = ('blob', good2)
    return p, base, base_oid, base_off


def build_bad_delta(dest):
    """Deltas that copy outside their base, write past their result, lie about sizes,
    or end early; good deltas on the same base in the same pack."""
    r, h = _hostile_base(dest, 'bad_delta')
    p, base, base_oid, base_off = _delta_pack(h, 'bad delta')
    n = len(base)
    cases = [
        ('copy-past-base', 'copy reads past the end of the base',
         make_delta(n, 200, delta_copy(900, 200))),
        ('copy-offset-wraps', 'copy offset + size wraps 32 bits',
         make_delta(n, 0x20, delta_copy(0xfffffff0, 0x20))),
        ('copy-past-result', 'copy writes past the declared result size',
         make_delta(n, 10, delta_copy(0, 100))),
        ('insert-past-result', 'insert writes past the declared result size',
         make_delta(n, 10, delta_insert(b'x' * 20))),
        ('result-short', 'instructions produce less than the result size',
         make_delta(n, 100, delta_copy(0, 50))),
        ('base-size-lies', 'delta header names another base size',
         make_delta(n - 1, 10, delta_copy(0, 10))),
        ('insert-truncated', 'insert opcode longer than the data left',
         make_delta(n, 50, bytes([50]) + b'only ten b')),
        ('copy-args-truncated', 'copy opcode whose argument bytes are missing',
         make_delta(n, 10, bytes([0x80 | 0x0f | 0x70]))),
        ('empty-delta', 'delta with no header at all', b''),
        ('header-varint-endless', 'size varint that never ends', b'\xff' * 20),
    ]
    for name, what, delta in cases:
        oid = fake_id('delta ' + name)
        p.add_ofs_delta(oid, base_off, delta)
        h.bad.append(Bad(oid, what, path=name))
    oid = fake_id('ref delta copy past base')
    p.add_ref_delta(oid, base_oid, make_delta(n, 300, delta_copy(n - 10, 300)))
    h.bad.append(Bad(oid, 'REF_DELTA copy past the base', path='ref-copy-past-base'))
    p.write(h.gitdir)
    return _finish_hostile(r, h)


def build_delta_opcode0(dest):
    """A delta holding the reserved instruction 0."""
    r, h = _hostile_base(dest, 'delta_opcode0')
    p, base, base_oid, base_off = _delta_pack(h, 'opcode 0')
    oid = fake_id('delta opcode 0')
    p.add_ofs_delta(oid, base_off, make_delta(len(base), 10, delta_copy(0, 5), b'\x00',
                                              delta_insert(b'12345')))
    h.bad.append(Bad(oid, 'delta instruction 0', path='opcode-0'))
    oid2 = fake_id('delta only opcode 0')
    p.add_ref_delta(oid2, base_oid, make_delta(len(base), 0, b'\x00'))
    h.bad.append(Bad(oid2, 'REF_DELTA made of instruction 0', path='only-opcode-0'))
    p.write(h.gitdir)
    return _finish_hostile(r, h)


def build_delta_loop(dest):
    """REF_DELTAs that are each other's base, one that is its own base, an OFS_DELTA
    pointing at itself, one pointing before the pack, and a REF_DELTA with no base."""
    r, h = _hostile_base(dest, 'delta_loop')
    p, base, base_oid, base_off = _delta_pack(h, 'loop')
    a, b = fake_id('loop a'), fake_id('loop b')
    d = make_delta(10, 10, delta_copy(0, 10))
    p.add_ref_delta(a, b, d)
    p.add_ref_delta(b, a, d)
    h.bad.append(Bad(a, 'REF_DELTA loop of two (a)', culprits=(a, b), path='loop-a'))
    h.bad.append(Bad(b, 'REF_DELTA loop of two (b)', culprits=(a, b), path='loop-b'))
    s = fake_id('loop self')
    p.add_ref_delta(s, s, d)
    h.bad.append(Bad(s, 'REF_DELTA that is its own base', path='loop-self'))
    o = fake_id('ofs self')
    p.add_ofs_delta(o, 0, d, distance=0)
    h.bad.append(Bad(o, 'OFS_DELTA at distance 0 (itself)', path='ofs-self'))
    before = fake_id('ofs before start')
    p.add_ofs_delta(before, 0, d, distance=1 << 20)
    h.bad.append(Bad(before, 'OFS_DELTA pointing before the pack start', path='ofs-before-start'))
    orphan = fake_id('ref delta orphan')
    p.add_ref_delta(orphan, fake_id('a base that exists nowhere'), d)
    h.bad.append(Bad(orphan, 'REF_DELTA whose base exists nowhere', codes=(3, 7),
                     path='no-base'))
    p.write(h.gitdir)
    return _finish_hostile(r, h)


def build_bad_idx(dest):
    """.idx files that lie: a fanout that goes down, a fanout count past the file, an
    offset past the pack's end, a 64-bit offset index past its table. Each its own pack."""
    r, h = _hostile_base(dest, 'bad_idx')
    g = h.gitdir

    def pack_of(label, count):
        p = PackBuilder()
        datas = [_blob_data('%s %d' % (label, i)) for i in range(count)]
        return p, [(p.add('blob', dd)[0], dd) for dd in datas]

    def fanout_set(idx, i, value):
        at = 8 + 4 * i
        return idx_rehash(idx[:at] + struct.pack('>I', value) + idx[at + 4:])

    # 1. Not monotonic: a middle bucket claims more objects than the last.
    p, objs = pack_of('fanout down', 4)
    p.write(g, idx_mutator=lambda idx: fanout_set(idx, 0x7f, 0x00ffffff))
    for i, (oid, _) in enumerate(objs):
        h.bad.append(Bad(oid, 'idx fanout not monotonic', codes=(3, 7),
                         path='fanout-down-%d' % i))
    # 2. The object count (fanout[255]) is larger than the tables in the file.
    p, objs = pack_of('fanout count', 3)
    p.write(g, idx_mutator=lambda idx: fanout_set(idx, 255, 1000))
    for i, (oid, _) in enumerate(objs):
        h.bad.append(Bad(oid, 'idx object count past the end of the file', codes=(3, 7),
                         path='fanout-count-%d' % i))
    # 3. One offset past the end of the pack: only that object is affected.
    p, objs = pack_of('offset past end', 3)
    victim = sorted(o for o, _ in objs)[1]

    def offset_past_end(idx):
        n = 3
        at = 8 + 1024 + n * 20 + n * 4 + 4 * 1
        return idx_rehash(idx[:at] + struct.pack('>I', 0x7fff0000) + idx[at + 4:])
    p.write(g, idx_mutator=offset_past_end)
    for oid, data in objs:
        if oid == victim:
            h.bad.append(Bad(oid, 'idx offset past the end of the pack', codes=(3, 7),
                             path='offset-past-end'))
        else:
            h.bad.append(Bad(oid, 'neighbour of a bad idx offset', codes=(3, 7), maybe_ok=True,
                             content=data, path='offset-neighbour-' + oid[:7]))
    # 4. A 64-bit offset index past the 64-bit table.
    p, objs = pack_of('large index', 2)
    victim = sorted(o for o, _ in objs)[0]

    def large_past_table(idx):
        n = 2
        at = 8 + 1024 + n * 20 + n * 4
        return idx_rehash(idx[:at] + struct.pack('>I', 0x80000000 | 77) + idx[at + 4:])
    p.write(g, idx_mutator=large_past_table)
    for oid, data in objs:
        if oid == victim:
            h.bad.append(Bad(oid, 'idx 64-bit offset index past its table', codes=(3, 7),
                             path='large-past-table'))
        else:
            h.bad.append(Bad(oid, 'neighbour of a bad 64-bit offset', codes=(3, 7), maybe_ok=True,
                             content=data, path='large-neighbour'))
    # 5. Not an idx at all (wrong magic).
    p, objs = pack_of('bad magic', 1)
    p.write(g, idx_mutator=lambda idx: b'\x00\x01\x02\x03' + idx[4:])
    h.bad.append(Bad(objs[0][0], 'idx with a wrong magic', codes=(3, 7), path='bad-magic'))
    return _finish_hostile(r, h)


HIDDEN_NAMES = [b'..', b'.', b'.git', b'.GIT', b'.Git', b'', b'a/b', b'/', b'../../etc']


def build_bad_tree_names(dest):
    """Trees holding entries named "..", ".", ".git" (any case), "" or with "/": the
    entries are hidden, their neighbours shown. Also malformed trees (corrupt as a
    whole), odd-but-valid modes, and a tree that contains itself (id not checked)."""
    r, h = _hostile_base(dest, 'bad_tree_names')
    g = h.gitdir
    ok_blob = write_loose(g, 'blob', b'a good file next to bad names\n')
    h.good[ok_blob] = ('blob', b'a good file next to bad names\n')
    inner = write_loose(g, 'blob', b'[core]\n\tbare = false\n')
    h.good[inner] = ('blob', b'[core]\n\tbare = false\n')
    sub = write_loose(g, 'tree', tree_bytes([('100644', 'config', inner)]))
    h.good[sub] = ('tree', tree_bytes([('100644', 'config', inner)]))
    # One tree with every bad name (as files and as directories) and good ones around.
    entries = [('100644', 'good.txt', ok_blob), ('40000', 'good-dir', sub)]
    for i, name in enumerate(HIDDEN_NAMES):
        entries.append(('100644' if i % 2 else '40000', name, ok_blob if i % 2 else sub))
    entries.append(('100644', 'zz-last.txt', ok_blob))
    raw = raw_tree_bytes(entries)
    all_bad = object_id('sha1', 'tree', raw)
    write_loose_raw(g, all_bad, zlib.compress(b'tree %d\0' % len(raw) + raw))
    h.bad.append(Bad(all_bad, 'tree with every bad name', check='hidden', otype='tree',
                     visible=('good.txt', 'good-dir', 'zz-last.txt'), content=raw,
                     path='all-bad-names'))
    # One tree per bad name, so each check is seen alone.
    for name in HIDDEN_NAMES:
        raw = raw_tree_bytes([('40000', name, sub), ('100644', 'ok', ok_blob)])
        oid = object_id('sha1', 'tree', raw)
        write_loose_raw(g, oid, zlib.compress(b'tree %d\0' % len(raw) + raw))
        h.bad.append(Bad(oid, 'tree entry named %r' % name, check='hidden', otype='tree',
                         visible=('ok',), content=raw,
                         path='bad-name-' + (name.decode().replace('/', 'SLASH') or 'EMPTY')))
    # An entry of a mode no git object type has: hidden, its neighbours shown.
    raw = raw_tree_bytes([('100644', 'before', ok_blob), ('777777', 'strange', ok_blob),
                          ('40000', 'dir', sub)])
    oid = object_id('sha1', 'tree', raw)
    write_loose_raw(g, oid, zlib.compress(b'tree %d\0' % len(raw) + raw))
    h.bad.append(Bad(oid, 'tree entry of unknown mode 777777', check='hidden', otype='tree',
                     visible=('before', 'dir'), content=raw, path='unknown-mode'))
    h.facts['unknown_mode_tree'] = oid
    # Malformed trees: the whole tree is corrupt.
    good_entry = raw_tree_bytes([('100644', 'fine', ok_blob)])
    malformed = [
        ('truncated-id', good_entry + b'100644 cut\0' + bytes.fromhex(ok_blob)[:7]),
        ('bad-mode', b'10064x bad\0' + bytes.fromhex(ok_blob) + good_entry),
        ('empty-mode', b' nomode\0' + bytes.fromhex(ok_blob)),
        ('no-nul', good_entry + b'100644 no-nul-and-no-id'),
        ('mode-too-long', b'1006444444444444444444 big\0' + bytes.fromhex(ok_blob)),
    ]
    for name, raw in malformed:
        oid = object_id('sha1', 'tree', raw)
        write_loose_raw(g, oid, zlib.compress(b'tree %d\0' % len(raw) + raw))
        h.bad.append(Bad(oid, 'malformed tree: ' + name, check='tree', otype='tree',
                         content=raw, path='malformed-' + name))
    # A tree whose stored id is its own entry's target: a cycle, possible only because
    # ids are not checked on read.
    cyc = fake_id('tree containing itself')
    raw = raw_tree_bytes([('100644', 'file', ok_blob), ('40000', 'again', cyc)])
    write_loose_raw(g, cyc, zlib.compress(b'tree %d\0' % len(raw) + raw))
    h.bad.append(Bad(cyc, 'tree that contains itself', check='tree', otype='tree', content=raw,
                     path='cycle'))
    return _finish_hostile(r, h)


def build_hash_mismatch(dest):
    """Objects whose content does not hash to their id (loose and packed): they read
    without -o verify and fail with it."""
    r, h = _hostile_base(dest, 'hash_mismatch')
    g = h.gitdir
    data = b'I am not what my name says\n'
    loose = fake_id('mismatch loose')
    write_loose_raw(g, loose, zlib.compress(b'blob %d\0' % len(data) + data))
    h.bad.append(Bad(loose, 'loose object whose content has another id', check='verify',
                     content=data, path='mismatch-loose'))
    p = PackBuilder()
    good = _blob_data('good next to a mismatch')
    good_oid = p.add('blob', good)[0]
    h.good[good_oid] = ('blob', good)
    pdata = b'packed, and not what the idx says\n'
    packed = fake_id('mismatch packed')
    p.add('blob', pdata, oid=packed)
    h.bad.append(Bad(packed, 'packed object whose content has another id', check='verify',
                     content=pdata, path='mismatch-packed'))
    p.write(g)
    return _finish_hostile(r, h)


def build_bad_commits(dest):
    """Commits that lie: a tree line naming a blob, no tree line, a commit that is its
    own parent (its id not checked), a tag that tags itself. Refs point at each."""
    r, h = _hostile_base(dest, 'bad_commits')
    g = h.gitdir
    blob = h.facts['readme']
    head = h.facts['head']
    tree = h.facts['head_tree']

    def put(oid, data, otype='commit'):
        write_loose_raw(g, oid, zlib.compress(b'%s %d\0' % (otype.encode(), len(data)) + data))

    def ref(name, oid):
        write_file(os.path.join(g, 'refs', 'heads', name), (oid + '\n').encode(), 0o644)

    self_parent = fake_id('commit that is its own parent')
    put(self_parent, commit_bytes(tree, [self_parent], 'my own parent'))
    ref('self-parent', self_parent)
    h.bad.append(Bad(self_parent, 'commit that is its own parent', check='commit', otype='commit'))
    two_cycle_a, two_cycle_b = fake_id('cycle commit a'), fake_id('cycle commit b')
    put(two_cycle_a, commit_bytes(tree, [two_cycle_b], 'cycle a'))
    put(two_cycle_b, commit_bytes(tree, [two_cycle_a], 'cycle b'))
    ref('cycle', two_cycle_a)
    h.bad.append(Bad(two_cycle_a, 'first-parent cycle of two commits', check='commit',
                     otype='commit', culprits=(two_cycle_a, two_cycle_b)))
    no_tree = fake_id('commit without tree')
    put(no_tree, b'parent %s\nauthor x <x> 1 +0000\ncommitter x <x> 1 +0000\n\nno tree\n' % head.encode())
    ref('no-tree', no_tree)
    h.bad.append(Bad(no_tree, 'commit without a tree line', check='commit', otype='commit'))
    blob_tree_data = commit_bytes(blob, [head], 'my tree is a blob')
    blob_tree = object_id('sha1', 'commit', blob_tree_data)
    put(blob_tree, blob_tree_data)
    ref('tree-is-blob', blob_tree)
    h.bad.append(Bad(blob_tree, 'commit whose tree is a blob', check='tree', otype='commit',
                     culprits=(blob_tree, blob), content=blob_tree_data))
    bad_parent_data = b'tree %s\nparent nothex\n\nbad parent\n' % tree.encode()
    bad_parent = object_id('sha1', 'commit', bad_parent_data)
    put(bad_parent, bad_parent_data)
    ref('bad-parent', bad_parent)
    h.bad.append(Bad(bad_parent, 'commit with a parent that is not hex', check='commit',
                     otype='commit'))
    tag_self = fake_id('tag of itself')
    put(tag_self, b'object %s\ntype tag\ntag loop\ntagger x <x> 1 +0000\n\nloop\n'
        % tag_self.encode(), 'tag')
    write_file(os.path.join(g, 'refs', 'tags', 'loop'), (tag_self + '\n').encode(), 0o644)
    h.bad.append(Bad(tag_self, 'tag whose object is itself', check='tree', otype='tag',
                     content=b'object %s\ntype tag\ntag loop\ntagger x <x> 1 +0000\n\nloop\n'
                     % tag_self.encode()))
    h.facts['bad_refs'] = ['refs/heads/self-parent', 'refs/heads/cycle', 'refs/heads/no-tree',
                           'refs/heads/tree-is-blob', 'refs/heads/bad-parent', 'refs/tags/loop']
    return _finish_hostile(r, h)


def build_bad_refs(dest):
    """Refs that are garbage: a value that is not hex, an empty file, a symbolic loop, a
    symbolic chain too deep, a name git forbids, a packed-refs line that is junk."""
    r, h = _hostile_base(dest, 'bad_refs')
    g = h.gitdir
    head = h.facts['head']

    def put(name, text):
        write_file(os.path.join(g, name), text.encode(), 0o644)

    put('refs/heads/not-hex', 'this is not an id\n')
    put('refs/heads/empty', '')
    put('refs/heads/short', head[:20] + '\n')
    put('refs/heads/loop1', 'ref: refs/heads/loop2\n')
    put('refs/heads/loop2', 'ref: refs/heads/loop1\n')
    for i in range(8):
        put('refs/heads/chain%d' % i, 'ref: refs/heads/chain%d\n' % (i + 1))
    put('refs/heads/chain8', head + '\n')
    put('refs/heads/bad..name', head + '\n')
    put('refs/heads/ok-loose', head + '\n')
    with open(os.path.join(g, 'packed-refs'), 'a') as f:
        f.write('junk line that is not a ref\n%s refs/heads/ok-packed\n^%s\n'
                % (head, 'z' * 40))
    h.facts['good_refs'] = {'refs/heads/ok-loose': head, 'refs/heads/main': head}
    h.facts['bad_refs'] = {'refs/heads/not-hex': (3, 7), 'refs/heads/empty': (3, 7),
                           'refs/heads/short': (3, 7), 'refs/heads/loop1': (7,),
                           'refs/heads/chain0': (7,)}
    return _finish_hostile(r, h)


HOSTILE = {
    'bad_zlib': build_bad_zlib,
    'bad_loose_header': build_bad_loose_header,
    'huge_size': build_huge_size,
    'truncated_pack': build_truncated_pack,
    'bad_trailer': build_bad_trailer,
    'bad_delta': build_bad_delta,
    'delta_opcode0': build_delta_opcode0,
    'delta_loop': build_delta_loop,
    'bad_idx': build_bad_idx,
    'bad_tree_names': build_bad_tree_names,
    'hash_mismatch': build_hash_mismatch,
    'bad_commits': build_bad_commits,
    'bad_refs': build_bad_refs,
}


def build(kind, dest):
    """Build a fixture of any kind (KINDS or HOSTILE) into dest."""
    builder = KINDS.get(kind) or HOSTILE[kind]
    return builder(os.fspath(dest))
