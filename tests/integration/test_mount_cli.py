"""The ugitfs command (ugitfs(1), OPTIONS): errors in one line, options, daemon mode, the mount(8) helper."""

import contextlib
import os
import subprocess

import pytest

from mounting import UGITFS, Mount, is_mounted, run_ugitfs, unmount, wait_for


@pytest.fixture
def mp(tmp_path):
    d = tmp_path / 'mnt'
    d.mkdir()
    yield str(d)
    unmount(str(d))


def one_line_error(p, *must_name):
    assert p.returncode != 0, p
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for name in must_name:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def test_help_and_version():
    p = run_ugitfs('--help')
    assert p.returncode == 0 and 'ugitfs [-f] [-d] [-o OPT' in p.stdout and '--sync' in p.stdout
    p = run_ugitfs('--version')
    assert p.returncode == 0 and p.stdout.startswith('ugitfs ')


def test_missing_repository(mp):
    line = one_line_error(run_ugitfs('-f', '/nonexistent/repo', mp), '/nonexistent/repo')
    assert 'No such file' in line
    assert not is_mounted(mp)


def test_not_a_repository(tmp_path, mp):
    empty = tmp_path / 'plain'
    empty.mkdir()
    line = one_line_error(run_ugitfs('-f', str(empty), mp), str(empty))
    assert 'not a git or ugit repository' in line


def test_mountpoint_not_empty(repos, tmp_path):
    fx = repos.get('packed')
    full = tmp_path / 'full'
    full.mkdir()
    (full / 'something').write_text('x')
    one_line_error(run_ugitfs('-f', fx.path, str(full)), str(full), 'not an empty directory')
    assert not is_mounted(str(full))
    one_line_error(run_ugitfs('-f', fx.path, str(tmp_path / 'absent')), str(tmp_path / 'absent'))


def test_unknown_option(repos, mp):
    fx = repos.get('packed')
    one_line_error(run_ugitfs('-f', '-o', 'bogus_option', fx.path, mp), 'bogus_option')
    assert not is_mounted(mp)
    p = run_ugitfs('--bogus', fx.path, mp)
    assert p.returncode == 2 and '--bogus' in p.stderr
    one_line_error(run_ugitfs('-f', '-o', 'memory=lots', fx.path, mp), 'memory', 'lots')
    one_line_error(run_ugitfs('-f', '-o', 'autosync=soon', fx.path, mp), 'autosync', 'soon')


def test_branch_that_does_not_exist(repos, mp):
    fx = repos.get('packed')
    one_line_error(run_ugitfs('-f', '-o', 'branch=nope', fx.path, mp), fx.path, "'nope'")
    assert not is_mounted(mp)


def test_ro_has_no_working_view(repos):
    fx = repos.get('packed')
    with Mount(fx.path, ['ro']) as mnt:
        assert 'work' not in os.listdir(mnt.mnt)
    with Mount(fx.path, ['branch=topic']) as mnt:
        assert 'work' in os.listdir(mnt.mnt)


def test_options_are_accepted(repos):
    fx = repos.get('packed')
    opts = ['ro', 'verify', 'memory=64M', 'default_permissions', 'noauto,_netdev,user,users,nofail,x-systemd.automount']
    with Mount(fx.path, opts) as mnt:
        with open(mnt.path('HEAD', 'README.md')) as f:
            assert f.read() == 'hello\nworld\n'


def daemon_gone(mountpoint):
    """No ugitfs process serves this mount point any more."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                args = f.read().split(b'\0')
            if any(a.endswith(b'ugitfs') for a in args[:1]) and os.fsencode(mountpoint) in args:
                return False
    return True


def test_daemon_mode_and_unmount(repos, mp):
    fx = repos.get('packed')
    p = run_ugitfs(fx.path, mp, timeout=30)
    try:
        assert p.returncode == 0, p.stderr
        assert is_mounted(mp)
        with open(os.path.join(mp, 'HEAD', 'README.md')) as f:
            assert f.read() == 'hello\nworld\n'
    finally:
        subprocess.run(['fusermount3', '-u', mp], check=True)
    wait_for(lambda: daemon_gone(mp), 10, 'the daemon to exit after fusermount3 -u')


def test_mount_helper_name(repos, mp, tmp_path):
    """As mount.ugitfs, the binary takes mount(8)'s calling convention and drops fstab-only options."""
    fx = repos.get('packed')
    helper = tmp_path / 'mount.ugitfs'
    helper.symlink_to(UGITFS)
    p = subprocess.run([str(helper), fx.path, mp, '-o', 'ro,noauto,user,_netdev'],
                       capture_output=True, text=True, timeout=30)
    try:
        assert p.returncode == 0, p.stderr
        assert os.path.islink(os.path.join(mp, 'HEAD'))
        assert 'work' not in os.listdir(mp)
    finally:
        unmount(mp)
    wait_for(lambda: daemon_gone(mp), 10, 'the daemon to exit')


@contextlib.contextmanager
def sbin_helper():
    """/sbin/mount.fuse.ugitfs pointing at the built binary, for the test's duration,
    unless an installed one is already there."""
    link = '/sbin/mount.fuse.ugitfs'
    made = False
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(UGITFS), link)
        made = True
    try:
        yield
    finally:
        if made:
            os.unlink(link)


def test_mount_t_and_fstab(repos, mp, tmp_path):
    fx = repos.get('packed')
    with sbin_helper():
        p = subprocess.run(['mount', '-t', 'fuse.ugitfs', fx.path, mp, '-o', 'ro'],
                           capture_output=True, text=True, timeout=30)
        try:
            assert p.returncode == 0, p.stderr
            assert os.readlink(os.path.join(mp, 'HEAD')) == 'branches/main'
        finally:
            unmount(mp)
        wait_for(lambda: daemon_gone(mp), 10, 'the daemon to exit')
        fstab = tmp_path / 'fstab'
        fstab.write_text('%s %s fuse.ugitfs ro,noauto,_netdev 0 0\n' % (fx.path, mp))
        p = subprocess.run(['mount', '-T', str(fstab), mp], capture_output=True, text=True, timeout=30)
        try:
            assert p.returncode == 0, p.stderr
            assert os.path.isdir(os.path.join(mp, 'commits'))
        finally:
            unmount(mp)
        wait_for(lambda: daemon_gone(mp), 10, 'the daemon to exit')
