"""pytest setup for the integration tests: an isolated git environment, ugtool, and fixture repositories."""

import atexit
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

# Isolate git (and the core, which reads the user's git config) before anything runs.
_HOME = tempfile.mkdtemp(prefix='ugitfs-home-')
atexit.register(shutil.rmtree, _HOME, True)
fixtures.isolate(_HOME)

BUILD = os.environ.get('UGITFS_BUILD', '')
UGTOOL = os.path.join(BUILD, 'tests', 'ugtool')

# Text that means a sanitizer (address, undefined, leak) saw something.
SANITIZER_MARKS = ('Sanitizer', 'runtime error:', 'AddressSanitizer', 'LeakSanitizer')

TIMEOUT = 120  # seconds for one ugtool run: a hang (a delta loop) is a failure, not a stall


@dataclasses.dataclass
class Run:
    args: list
    rc: int
    out: bytes
    err: str

    @property
    def errors(self):
        """The "ugtool: ..." lines of stderr (log lines say "ugtool-log:")."""
        return [l for l in self.err.splitlines() if l.startswith('ugtool: ')]

    @property
    def logs(self):
        return [l for l in self.err.splitlines() if l.startswith('ugtool-log: ')]

    def text(self):
        return self.out.decode('utf-8', 'surrogateescape')

    def lines(self):
        return self.text().splitlines()

    def __str__(self):
        return 'ugtool %s -> exit %d\nstderr: %s' % (' '.join(map(str, self.args)), self.rc,
                                                    self.err.strip()[-3000:])


def ugtool(*args, input=None, check=True, timeout=TIMEOUT):
    """Run ugtool; fail the test on a crash, a hang or sanitizer output, and (when check)
    on a nonzero exit. Returns a Run."""
    if not os.access(UGTOOL, os.X_OK):
        pytest.fail('ugtool not found at %s (set UGITFS_BUILD to the build directory)' % UGTOOL)
    args = [os.fspath(a) for a in args]
    try:
        p = subprocess.run([UGTOOL, *args], input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail('ugtool %s: no answer within %d s (a loop?)' % (' '.join(args), timeout))
    r = Run(args, p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace'))
    if r.rc < 0:
        pytest.fail('%s\nugtool died of signal %d' % (r, -r.rc))
    for mark in SANITIZER_MARKS:
        if mark in r.err:
            pytest.fail('%s\nsanitizer report in stderr' % r)
    if check and r.rc != 0:
        pytest.fail(str(r))
    return r


class FixtureCache:
    """Builds each fixture kind once per session, on first use."""

    def __init__(self, root):
        self.root = root
        self.built = {}

    def get(self, kind):
        if kind not in self.built:
            self.built[kind] = fixtures.build(kind, self.root / kind)
        return self.built[kind]


@pytest.fixture(scope='session')
def repos(tmp_path_factory):
    return FixtureCache(tmp_path_factory.mktemp('fixtures'))


@pytest.fixture
def fresh(tmp_path):
    """A builder of fixtures private to one test (for tests that write)."""
    def make(kind):
        return fixtures.build(kind, tmp_path / kind)
    return make
