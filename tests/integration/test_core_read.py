"""The core reads every kind of repository git writes exactly as git does (ugtool against git)."""

import hashlib
import os
import subprocess

import pytest

import fixtures
from conftest import ugtool

GIT_KINDS = [k for k in fixtures.KINDS if k not in ('ugit', 'empty')]


def git_rc(fx, *args, input=None):
    p = subprocess.run(['git', *fx.git_args, *args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, p.stdout


def dedupe(seq):
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def reachable_ids(fx):
    """Every object reachable from any ref or HEAD, and every tag object."""
    ids = fx.git_lines('rev-list', '--all', '--objects', '--no-object-names')
    ids += fx.git_lines('for-each-ref', '--format=%(objectname)')
    rc, head = git_rc(fx, 'rev-parse', '--verify', '-q', 'HEAD')
    if rc == 0:
        ids.append(head.decode().strip())
    return dedupe(ids)


def tips(fx):
    """Branch names, tag names and HEAD: every way the tests start from."""
    names = fx.git_lines('for-each-ref', '--format=%(refname)')
    return names + ['HEAD']


def commits(fx):
    return fx.git_lines('rev-list', '--all')


def spread(items, most=60):
    """At most `most` of items, evenly spread (every one when there are few): bounds the
    number of processes on the large fixtures, for the sanitizer build's sake."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


def explain_batch(got, exp):
    """The first differing record of two --batch outputs, readable."""
    g, e = fixtures.parse_batch(got), fixtures.parse_batch(exp)
    for i, (a, b) in enumerate(zip(g, e)):
        if a != b:
            return 'record %d: ugtool %r, git %r' % (i, (a[0], a[1], (a[2] or b'')[:80]),
                                                      (b[0], b[1], (b[2] or b'')[:80]))
    return 'ugtool gave %d records, git %d' % (len(g), len(e))


@pytest.fixture(params=GIT_KINDS)
def fx(request, repos):
    return repos.get(request.param)


# --- the fixtures are what they claim (else the tests below prove little) ----

def test_fixture_self_checks(repos):
    assert repos.get('deep_deltas').facts['max_depth'] >= 20
    assert repos.get('deep_deltas').facts['pack_types'].get('ofs_delta', 0) > 100
    types = repos.get('ref_deltas').facts['pack_types']
    assert types.get('ref_delta', 0) > 50 and types.get('ofs_delta', 0) == 0
    assert repos.get('large_offsets').facts['large_offsets'] > 10
    assert repos.get('multi_pack').facts['packs'] >= 3
    alt = repos.get('alternates')
    assert os.path.exists(os.path.join(alt.gitdir, 'objects', 'info', 'alternates'))
    bare = repos.get('bare_noconfig')
    assert not os.path.exists(os.path.join(bare.gitdir, 'config'))
    wt = repos.get('worktree')
    assert os.path.isfile(os.path.join(wt.path, '.git'))
    tags = repos.get('tags')
    with open(os.path.join(tags.gitdir, 'packed-refs')) as f:
        packed = f.read()
    assert '\n^' in packed and 'refs/tags/v2.0-again' in packed


# --- repository discovery ------------------------------------------------------

def test_info(fx):
    info = dict(l.split(' ', 1) for l in ugtool(fx.path, 'info').lines())
    assert info['format'] == 'git'
    assert info['hash'] == fx.algo
    assert os.path.realpath(info['gitdir']) == os.path.realpath(fx.gitdir)
    # and git agrees with the fixture on where that is
    assert os.path.realpath(fx.git('rev-parse', '--absolute-git-dir').decode().strip()) == \
        os.path.realpath(fx.gitdir)
    if fx.workdir is None:
        assert info['workdir'] == '-'
    else:
        assert os.path.realpath(info['workdir']) == os.path.realpath(fx.workdir)


def test_open_through_dot_git(repos):
    """A .git directory given directly opens the same repository."""
    fx = repos.get('packed')
    a = ugtool(fx.path, 'rev-parse', 'HEAD').out
    b = ugtool(os.path.join(fx.path, '.git'), 'rev-parse', 'HEAD').out
    assert a == b


def test_not_a_repository(tmp_path):
    r = ugtool(tmp_path, 'info', check=False)
    assert r.rc == 3, r
    assert len(r.errors) == 1 and str(tmp_path) in r.errors[0], r


# --- objects -------------------------------------------------------------------

def test_batch_matches_git(fx):
    ids = reachable_ids(fx)
    assert ids
    stdin = ('\n'.join(ids) + '\n').encode()
    exp = fx.git('cat-file', '--batch', input=stdin)
    got = ugtool(fx.path, 'batch', input=stdin).out
    assert got == exp, explain_batch(got, exp)
    exp = fx.git('cat-file', '--batch-check', input=stdin)
    got = ugtool(fx.path, 'batch-check', input=stdin).out
    assert got == exp


@pytest.mark.parametrize('limit', ['0', '100000', '4000000'])
def test_batch_with_small_caches(repos, limit):
    """Deep delta chains read the same whatever the cache may hold (eviction paths)."""
    fx = repos.get('deep_deltas')
    stdin = ('\n'.join(reachable_ids(fx)) + '\n').encode()
    exp = fx.git('cat-file', '--batch', input=stdin)
    got = ugtool('--cache-limit', limit, fx.path, 'batch', input=stdin).out
    assert got == exp, explain_batch(got, exp)


def test_batch_missing_and_names(fx):
    """Names in batch input, and missing ids, as git prints them."""
    missing = '0' * (fx.hexsz - 1) + '1'
    names = ['HEAD', missing] + tips(fx)[:3]
    stdin = ('\n'.join(names) + '\n').encode()
    exp = fx.git('cat-file', '--batch', input=stdin)
    got = ugtool(fx.path, 'batch', input=stdin).out
    assert got == exp, explain_batch(got, exp)


def test_cat_file(fx):
    out = fx.git('cat-file', '--batch', input=('\n'.join(reachable_ids(fx)) + '\n').encode())
    one_of_each = {}
    for oid, otype, data in fixtures.parse_batch(out):
        one_of_each.setdefault(otype, (oid, data))
    assert {'commit', 'tree', 'blob'} <= set(one_of_each)
    for otype, (oid, data) in one_of_each.items():
        assert ugtool(fx.path, 'cat-file', '-t', oid).out == otype.encode() + b'\n'
        assert ugtool(fx.path, 'cat-file', '-s', oid).out == b'%d\n' % len(data)
        assert ugtool(fx.path, 'cat-file', '-p', oid).out == data
        assert ugtool(fx.path, 'cat-file', '-e', oid).rc == 0


def test_cat_file_missing(fx):
    missing = 'f' * (fx.hexsz - 3) + 'abc'
    r = ugtool(fx.path, 'cat-file', '-e', missing, check=False)
    assert r.rc == 1 and r.err == '', r
    for flag in ('-p', '-t', '-s'):
        r = ugtool(fx.path, 'cat-file', flag, missing, check=False)
        assert r.rc == 3, r
        assert len(r.errors) == 1 and missing in r.errors[0], r


# --- trees ---------------------------------------------------------------------

def test_ls_tree_recursive_every_commit(fx):
    for c in spread(commits(fx)):
        exp = fx.git('ls-tree', '-r', '-z', c)
        got = ugtool(fx.path, 'ls-tree', '-r', '-z', c).out
        assert got == exp, 'ls-tree -r %s differs' % c


def test_ls_tree_tips_quoted(fx):
    """Without -z names are quoted as git quotes them; tree-ish may be a ref or a tag."""
    for tip in tips(fx):
        rc, peeled = git_rc(fx, 'rev-parse', '--verify', '-q', tip + '^{tree}')
        if rc != 0:
            continue  # a tag of a blob
        for args in (['ls-tree'], ['ls-tree', '-r']):
            exp = fx.git(*args, tip)
            got = ugtool(fx.path, *args, tip).out
            assert got == exp, '%s %s' % (' '.join(args), tip)


def test_ls_tree_every_tree(fx):
    out = fx.git('cat-file', '--batch-check',
                 input=('\n'.join(reachable_ids(fx)) + '\n').encode()).decode()
    trees = [l.split(' ')[0] for l in out.splitlines() if l.split(' ')[1] == 'tree']
    assert trees
    for t in spread(trees):
        assert ugtool(fx.path, 'ls-tree', '-z', t).out == fx.git('ls-tree', '-z', t), t


def test_ls_tree_not_a_tree(repos):
    fx = repos.get('tags')
    r = ugtool(fx.path, 'ls-tree', 'blob-tag', check=False)
    assert r.rc != 0 and len(r.errors) == 1, r


# --- refs ----------------------------------------------------------------------

def test_for_each_ref(fx):
    assert ugtool(fx.path, 'for-each-ref').out == fx.git('for-each-ref')
    for prefix in ('refs/heads', 'refs/tags/', 'refs/heads/feature'):
        assert ugtool(fx.path, 'for-each-ref', prefix).out == fx.git('for-each-ref', prefix), prefix


def short_names(full):
    names = [full]
    for prefix in ('refs/heads/', 'refs/tags/', 'refs/remotes/'):
        if full.startswith(prefix):
            short = full[len(prefix):]
            names += [short, full[len('refs/'):]]
    return names


def test_rev_parse_refs(fx):
    names = ['HEAD']
    for full in fx.git_lines('for-each-ref', '--format=%(refname)'):
        names += short_names(full)
    checked = 0
    for name in dedupe(names):
        rc, out = git_rc(fx, 'rev-parse', '--verify', '-q', name)
        if rc != 0:
            continue
        got = ugtool(fx.path, 'rev-parse', name)
        assert got.out == out, 'rev-parse %s' % name
        checked += 1
    assert checked >= 2


def test_rev_parse_tag_before_branch(repos):
    """A name that is both a tag and a branch means the tag, as in git."""
    fx = repos.get('tags')
    name = fx.facts['ambiguous_name']
    assert ugtool(fx.path, 'rev-parse', name).out == fx.git('rev-parse', 'refs/tags/' + name)


def test_rev_parse_unknown(fx):
    r = ugtool(fx.path, 'rev-parse', 'no-such-ref-anywhere', check=False)
    assert r.rc == 3, r
    assert len(r.errors) == 1 and 'no-such-ref-anywhere' in r.errors[0], r


def test_symbolic_head(fx):
    rc, out = git_rc(fx, 'symbolic-ref', '-q', 'HEAD')
    r = ugtool(fx.path, 'symbolic-ref', 'HEAD', check=rc == 0)
    if rc == 0:
        assert r.out == out
    else:
        assert r.rc != 0 and len(r.errors) == 1, r  # detached


def test_detached_head(repos):
    fx = repos.get('detached')
    assert ugtool(fx.path, 'rev-parse', 'HEAD').out.decode().strip() == fx.facts['detached']
    assert fx.facts['detached'] in ugtool(fx.path, 'rev-list-all').lines()


def test_worktree_head_is_its_own(repos):
    fx = repos.get('worktree')
    assert ugtool(fx.path, 'symbolic-ref', 'HEAD').out == b'refs/heads/wt\n'
    assert ugtool(fx.path, 'rev-parse', 'HEAD').out.decode().strip() == fx.facts['wt_head']
    main = fx.facts['main_path']
    assert ugtool(main, 'symbolic-ref', 'HEAD').out == b'refs/heads/main\n'


# --- abbreviated ids -------------------------------------------------------------

def test_abbreviated_ids(fx):
    out = fx.git('cat-file', '--batch-check',
                 input=('\n'.join(reachable_ids(fx)) + '\n').encode()).decode()
    picked = {}
    for line in out.splitlines():
        oid, otype, _ = line.split(' ')
        if len(picked.setdefault(otype, [])) < 3:
            picked[otype].append(oid)
    for oid in sum(picked.values(), []):
        short = fx.git('rev-parse', '--short=4', oid).decode().strip()
        assert 4 <= len(short) < len(oid)
        assert ugtool(fx.path, 'rev-parse', short).out.decode().strip() == oid, short
    # a prefix of no object at all
    every = fx.git('cat-file', '--batch-all-objects', '--batch-check=%(objectname)').decode().split()
    used = {o[:4] for o in every}
    free = next('%04x' % i for i in range(0x10000) if '%04x' % i not in used)
    r = ugtool(fx.path, 'rev-parse', free, check=False)
    assert r.rc == 3, r


@pytest.mark.parametrize('object_format', ['sha1', 'sha256'])
def test_ambiguous_prefix(tmp_path, object_format):
    fx = fixtures.build_ambiguous(tmp_path / 'amb', object_format=object_format)
    prefix = fx.facts['prefix']
    rc, _ = git_rc(fx, 'rev-parse', '--verify', '-q', prefix)
    assert rc != 0, 'git resolves %s: the fixture is not ambiguous' % prefix
    for args in (['rev-parse', prefix], ['cat-file', '-p', prefix]):
        r = ugtool(fx.path, *args, check=False)
        assert r.rc == 5, r
        assert len(r.errors) == 1 and prefix in r.errors[0], r
    for oid in fx.facts['blobs']:
        short = fx.git('rev-parse', '--short=5', oid).decode().strip()
        assert ugtool(fx.path, 'rev-parse', short).out.decode().strip() == oid
    stdin = ('%s\n%s\n' % (prefix, fx.facts['blobs'][0])).encode()
    assert ugtool(fx.path, 'batch', input=stdin).out == fx.git('cat-file', '--batch', input=stdin)


def test_too_short_prefix(repos):
    fx = repos.get('packed')
    head = fx.git('rev-parse', 'HEAD').decode().strip()
    r = ugtool(fx.path, 'rev-parse', head[:3], check=False)
    assert r.rc != 0, r


# --- history -------------------------------------------------------------------

def test_first_parent(fx):
    for tip in fx.git_lines('for-each-ref', '--format=%(refname)', 'refs/heads') + ['HEAD']:
        rc, _ = git_rc(fx, 'rev-parse', '--verify', '-q', tip)
        if rc != 0:
            continue
        exp = fx.git_lines('log', '--first-parent', '--format=%H', tip)
        assert ugtool(fx.path, 'log-first-parent', tip).lines() == exp, tip


def test_first_parent_from_annotated_tag(repos):
    fx = repos.get('tags')
    exp = fx.git_lines('log', '--first-parent', '--format=%H', 'v2.0-thrice')
    assert ugtool(fx.path, 'log-first-parent', 'v2.0-thrice').lines() == exp


def test_rev_list_all(fx):
    got = ugtool(fx.path, 'rev-list-all').lines()
    assert len(got) == len(set(got)), 'a commit listed twice'
    assert set(got) == set(fx.git_lines('rev-list', '--all'))


# --- an unborn branch ----------------------------------------------------------

def test_empty_repository(repos):
    fx = repos.get('empty')
    info = dict(l.split(' ', 1) for l in ugtool(fx.path, 'info').lines())
    assert info['format'] == 'git'
    assert ugtool(fx.path, 'symbolic-ref', 'HEAD').out == b'refs/heads/main\n'
    r = ugtool(fx.path, 'rev-parse', 'HEAD', check=False)
    assert r.rc == 3, r
    assert ugtool(fx.path, 'rev-list-all').out == b''
    assert ugtool(fx.path, 'for-each-ref').out == b''


# --- a ugit repository written byte by byte -------------------------------------

@pytest.fixture
def ugit(repos):
    return repos.get('ugit')


def test_ugit_info(ugit):
    info = dict(l.split(' ', 1) for l in ugtool(ugit.path, 'info').lines())
    assert info == {'format': 'ugit', 'hash': 'sha1',
                    'gitdir': os.path.realpath(ugit.gitdir),
                    'workdir': os.path.realpath(ugit.path)}


def test_ugit_objects(ugit):
    objects = ugit.facts['objects']
    stdin = ''.join(o + '\n' for o in objects).encode()
    exp = b''.join(b'%s %s %d\n%s\n' % (o.encode(), t.encode(), len(d), d)
                   for o, (t, d) in objects.items())
    assert ugtool(ugit.path, 'batch', input=stdin).out == exp
    hello = hashlib.sha1(b'blob\0hello\n').hexdigest()
    assert ugtool(ugit.path, 'cat-file', '-p', hello).out == b'hello\n'
    assert ugtool(ugit.path, 'cat-file', '-t', hello).out == b'blob\n'
    assert ugtool(ugit.path, 'cat-file', '-s', hello).out == b'6\n'
    # Names are ugit's: the git id of the same content is not there.
    r = ugtool(ugit.path, 'cat-file', '-p', fixtures.object_id('sha1', 'blob', b'hello\n'),
               check=False)
    assert r.rc == 3, r


def test_ugit_trees(ugit):
    for commit, lines in ugit.facts['ls_tree_r'].items():
        assert ugtool(ugit.path, 'ls-tree', '-r', commit).lines() == lines
    for commit, lines in ugit.facts['ls_tree'].items():
        assert ugtool(ugit.path, 'ls-tree', commit).lines() == lines


def test_ugit_refs(ugit):
    refs = ugit.facts['refs']
    assert ugtool(ugit.path, 'for-each-ref').lines() == \
        ['%s commit\t%s' % (refs[n], n) for n in sorted(refs)]
    assert ugtool(ugit.path, 'symbolic-ref', 'HEAD').out == b'refs/heads/master\n'
    for name, want in [('HEAD', refs['refs/heads/master']), ('master', refs['refs/heads/master']),
                       ('side', refs['refs/heads/side']), ('v1', refs['refs/tags/v1']),
                       ('refs/tags/v1', refs['refs/tags/v1']),
                       (refs['refs/heads/side'][:7], refs['refs/heads/side'])]:
        assert ugtool(ugit.path, 'rev-parse', name).out.decode().strip() == want, name


def test_ugit_history(ugit):
    for branch, chain in ugit.facts['first_parent'].items():
        assert ugtool(ugit.path, 'log-first-parent', branch).lines() == chain
    assert sorted(ugtool(ugit.path, 'rev-list-all').lines()) == \
        sorted(ugit.facts['commits'].values())
