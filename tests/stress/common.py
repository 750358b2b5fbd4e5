"""What the stress scripts share: the git environment, running git, and a ugitfs daemon that can be killed."""

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import fixtures  # noqa: E402
import mounting  # noqa: E402

BAD_OUTPUT = mounting.BAD_OUTPUT
is_mounted = mounting.is_mounted
wait_for = mounting.wait_for


def git(repo, *args, input=None, check=True, env=None):
    """Run git in repo; returns stdout as bytes (raises on failure when check)."""
    p = subprocess.run(['git', '-C', repo, *args], input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    if check and p.returncode:
        raise RuntimeError('git %s: exit %d: %s' % (' '.join(args), p.returncode,
                                                    p.stderr.decode(errors='replace').strip()))
    return p.stdout


def blob_id(data):
    """The SHA-1 id git gives a blob of these bytes."""
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


def median(values):
    s = sorted(values)
    n = len(s)
    if not n:
        return 0
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class Daemon:
    """One `ugitfs -f` run on repo at mnt, its output kept in a file; kill() is SIGKILL."""

    def __init__(self, ugitfs, repo, mnt, options, log_dir):
        self.ugitfs = ugitfs
        self.repo = repo
        self.mnt = mnt
        self.options = list(options)
        fd, self.log_path = tempfile.mkstemp(prefix='ugitfs-log-', dir=log_dir)
        self._log = os.fdopen(fd, 'w+')
        args = [ugitfs, '-f']
        for o in self.options:
            args += ['-o', o]
        self.proc = subprocess.Popen(args + [repo, mnt], stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(lambda: is_mounted(mnt) or self.proc.poll() is not None, 30, 'the mount')
        if not is_mounted(mnt):
            raise RuntimeError('ugitfs exited %s: %s' % (self.proc.returncode, self.output()[-2000:]))

    def output(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL the daemon, then take its dead mount away."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        mounting.unmount(self.mnt)

    def stop(self, timeout=120):
        """Unmount cleanly (the daemon commits what is pending, then exits); returns its status."""
        mounting.unmount(self.mnt)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def close(self):
        self._log.close()


def ugitfs_cmd(ugitfs, *args, timeout=120):
    """Run `ugitfs --sync/--status ...`; returns (exit status, stdout, stderr); a hang is status None."""
    try:
        p = subprocess.run([ugitfs, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, '', 'timed out'
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def vm_rss_kib(pid):
    """VmRSS of a process in KiB, or None when it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def deadline_sleep(until):
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def cpu_seconds(pid):
    """User plus system CPU time of a process so far, or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
