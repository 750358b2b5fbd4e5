"""Hostile repositories: each bad object fails alone, with one line naming it; nothing crashes or hangs."""

import pytest

import fixtures
from conftest import ugtool

HOSTILE_KINDS = list(fixtures.HOSTILE)


@pytest.fixture(params=HOSTILE_KINDS)
def hx(request, repos):
    return repos.get(request.param)


def names_one_of(line, culprits):
    """Does the message name one of the culprits (an id by at least 7 digits, or a ref)?"""
    return any((c[:7] if len(c) in (40, 64) else c) in line for c in culprits)


def expect_failure(r, codes, culprits, what):
    """r failed the way a hostile object must: a listed status, one error line naming it."""
    problems = []
    if r.rc not in codes:
        problems.append('exit %d, wanted one of %s' % (r.rc, codes))
    if len(r.errors) != 1:
        problems.append('%d "ugtool:" lines on stderr, wanted 1' % len(r.errors))
    elif not names_one_of(r.errors[0], culprits):
        problems.append('the message does not name %s' % ' or '.join(c[:12] for c in culprits))
    if problems:
        return '%s: %s\n  %s' % (what, '; '.join(problems), str(r).replace('\n', '\n  '))
    return None


def batch_expect(objects):
    return b''.join(b'%s %s %d\n%s\n' % (o.encode(), t.encode(), len(d), d)
                    for o, (t, d) in objects.items())


def run_all(checks):
    """Run every check (each returns a problem or None) and report all problems at once."""
    problems = []
    for check in checks:
        try:
            p = check()
        except pytest.fail.Exception as e:  # a crash, a hang, a sanitizer report
            p = str(e)
        if p:
            problems.append(p)
    assert not problems, '\n\n'.join(problems)


def check_read(hx, b):
    p = hx.path
    r = ugtool(p, 'cat-file', '-p', b.oid, check=False)
    if b.maybe_ok and r.rc == 0:
        if r.out != b.content:
            return '%s (%s): read wrong bytes' % (b.what, b.oid)
    else:
        bad = expect_failure(r, b.codes, b.culprits, '%s (%s) cat-file -p' % (b.what, b.oid))
        if bad:
            return bad
    for flag in ('-t', '-s'):
        r = ugtool(p, 'cat-file', flag, b.oid, check=False)
        if r.rc != 0:
            bad = expect_failure(r, b.codes, b.culprits, '%s cat-file %s' % (b.what, flag))
            if bad:
                return bad
    r = ugtool(p, 'cat-file', '-e', b.oid, check=False)
    if r.rc not in (0, 1):
        return '%s: cat-file -e exits %d' % (b.what, r.rc)
    # In a batch, the objects before the bad one come out whole.
    good = next(iter(hx.good.items()))
    stdin = ('%s\n%s\n%s\n' % (good[0], b.oid, good[0])).encode()
    for cmd in ('batch', 'batch-check'):
        r = ugtool(p, cmd, input=stdin, check=False)
        first = batch_expect({good[0]: good[1]})
        if cmd == 'batch-check':
            first = first.split(b'\n', 1)[0] + b'\n'
        if not r.out.startswith(first):
            return '%s: %s lost the good object before the bad one' % (b.what, cmd)
        if r.rc != 0:
            bad = expect_failure(r, b.codes, b.culprits, '%s %s' % (b.what, cmd))
            if bad:
                return bad
    return None


def check_tree(hx, b):
    if b.content is not None:
        r = ugtool(hx.path, 'cat-file', '-p', b.oid, check=False)
        if r.rc != 0 or r.out != b.content:
            return '%s (%s): the raw bytes should read (exit %d)' % (b.what, b.oid, r.rc)
    for args in (['ls-tree'], ['ls-tree', '-r']):
        r = ugtool(hx.path, *args, b.oid, check=False)
        bad = expect_failure(r, b.codes, b.culprits, '%s (%s) %s' % (b.what, b.oid, ' '.join(args)))
        if bad:
            return bad
    return None


def check_hidden(hx, b):
    r = ugtool(hx.path, 'ls-tree', '-z', b.oid, check=False)
    if r.rc != 0:
        return '%s (%s): ls-tree exits %d: %s' % (b.what, b.oid, r.rc, r.err)
    names = [e.split(b'\t', 1)[1].decode() for e in r.out.split(b'\0') if e]
    if names != list(b.visible):
        return '%s (%s): ls-tree shows %r, wanted %r' % (b.what, b.oid, names, list(b.visible))
    if not any(names_one_of(l, (b.oid,)) for l in r.logs):
        return '%s (%s): no log line names the tree: %r' % (b.what, b.oid, r.err)
    r = ugtool(hx.path, 'ls-tree', '-r', '-z', b.oid, check=False)
    if r.rc != 0:
        return '%s (%s): ls-tree -r exits %d: %s' % (b.what, b.oid, r.rc, r.err)
    for e in r.out.split(b'\0'):
        if e and b'/' in e.split(b'\t', 1)[1]:
            path = e.split(b'\t', 1)[1].decode()
            if path.split('/')[0] not in b.visible:
                return '%s: ls-tree -r reached %r' % (b.what, path)
    return None


def check_verify(hx, b):
    r = ugtool(hx.path, 'cat-file', '-p', b.oid, check=False)
    if r.rc != 0 or r.out != b.content:
        return '%s (%s): without --verify it should read as stored (exit %d)' % (b.what, b.oid, r.rc)
    r = ugtool('--verify', hx.path, 'cat-file', '-p', b.oid, check=False)
    return expect_failure(r, b.codes, b.culprits, '%s (%s) --verify cat-file -p' % (b.what, b.oid))


def check_commit(hx, b):
    r = ugtool(hx.path, 'log-first-parent', b.oid, check=False)
    return expect_failure(r, b.codes, b.culprits, '%s (%s) log-first-parent' % (b.what, b.oid))


CHECKS = {'read': check_read, 'tree': check_tree, 'hidden': check_hidden,
          'verify': check_verify, 'commit': check_commit}


@pytest.mark.parametrize('kind', [k for k in HOSTILE_KINDS if k != 'bad_refs'])  # bad_refs: refs only
def test_each_bad_object_fails_alone(repos, kind):
    hx = repos.get(kind)
    assert hx.bad, '%s has no bad objects' % kind
    run_all([lambda b=b: CHECKS[b.check](hx, b) for b in hx.bad])


def test_good_objects_still_read(hx):
    stdin = ''.join(o + '\n' for o in hx.good).encode()
    want = batch_expect(hx.good)
    for extra in ([], ['--verify']):
        r = ugtool(*extra, hx.path, 'batch', input=stdin)
        assert r.out == want, 'good objects of %s read differently %s' % (hx.kind, extra)


def test_repository_wide_commands_survive(hx):
    p = hx.path
    ugtool(p, 'info')
    refs = ugtool(p, 'for-each-ref').lines()
    assert any(l.endswith('\trefs/heads/hostile') for l in refs), refs
    commits = ugtool(p, 'rev-list-all').lines()
    assert hx.commit in commits and hx.facts['head'] in commits
    assert ugtool(p, 'log-first-parent', 'hostile').lines()[:2] == [hx.commit, hx.facts['head']]
    # Listing the hostile tree reads trees only: bad trees inside may fail it, nothing else.
    r = ugtool(p, 'ls-tree', '-r', '-z', 'hostile', check=False)
    assert r.rc in (0, 7), r
    r = ugtool(p, 'ls-tree', '-z', 'hostile')
    listed = {e.split(b'\t', 1)[1].decode() for e in r.out.split(b'\0') if e}
    assert {b.path for b in hx.bad if b.path} <= listed


def test_refs_that_lie(repos):
    hx = repos.get('bad_refs')
    r = ugtool(hx.path, 'for-each-ref')
    listed = {l.split('\t')[1]: l.split(' ')[0] for l in r.lines()}
    for name, oid in hx.facts['good_refs'].items():
        assert listed.get(name) == oid, (name, r.lines())
    for name in ('refs/heads/not-hex', 'refs/heads/empty', 'refs/heads/short', 'refs/heads/bad..name'):
        assert name not in listed, 'for-each-ref lists malformed %s' % name
    problems = []
    for name, codes in hx.facts['bad_refs'].items():
        r = ugtool(hx.path, 'rev-parse', name, check=False)
        bad = expect_failure(r, codes, (name,), 'ref %s' % name)
        if bad:
            problems.append(bad)
    assert not problems, '\n\n'.join(problems)
    assert ugtool(hx.path, 'rev-parse', 'refs/heads/ok-loose').out.decode().strip() == \
        hx.facts['head']
