"""Mount the real ugitfs binary for a test, and always unmount it again."""

import contextlib
import os
import subprocess
import tempfile
import time

BUILD = os.environ.get("UGITFS_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
UGITFS = os.path.join(BUILD, "mount-tools", "ugitfs")

# Text in the daemon's output that means a bug, whatever the test checked.
BAD_OUTPUT = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer",
              "Segmentation fault", "double free", "Assertion")


def is_mounted(path):
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and fields[1].replace("\\040", " ") == real and fields[2].startswith("fuse"):
                return True
    return False


def wait_for(cond, timeout=10.0, what="condition"):
    """Poll cond() until true or the deadline passes (then fail); an OSError counts as false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except OSError:  # not there yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def unmount(mountpoint):
    if is_mounted(mountpoint):
        subprocess.run(["fusermount3", "-u", mountpoint], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if is_mounted(mountpoint):  # a busy mount: detach it lazily, never leave it behind
        subprocess.run(["fusermount3", "-u", "-z", mountpoint], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Mount:
    """A running `ugitfs -f REPO MOUNTPOINT`; use as a context manager."""

    def __init__(self, repo, options=(), mountpoint=None, env=None, flags=()):
        self.repo = repo
        self.options = list(options)
        self.flags = list(flags)  # more command-line flags, e.g. ['-d']
        self._tmp = None
        if mountpoint is None:
            self._tmp = tempfile.mkdtemp(prefix="ugitfs-mnt-")
            mountpoint = self._tmp
        self.mnt = mountpoint
        self.env = env
        self.proc = None
        self.log_path = None
        self._log = None

    def __enter__(self):
        fd, self.log_path = tempfile.mkstemp(prefix="ugitfs-log-")
        self._log = os.fdopen(fd, "w+")
        args = [UGITFS, "-f", *self.flags]
        for opt in self.options:
            args += ["-o", opt]
        args += [self.repo, self.mnt]
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        try:
            wait_for(lambda: is_mounted(self.mnt) or self.proc.poll() is not None, 15, "the mount")
            if not is_mounted(self.mnt):
                raise AssertionError(f"ugitfs exited {self.proc.returncode}: {self.output()}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """Unmount and wait for the daemon; returns its exit status."""
        unmount(self.mnt)
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def __exit__(self, exc_type, exc, tb):
        status = self.stop()
        out = self.output()
        self._log.close()
        os.unlink(self.log_path)
        if self._tmp:
            with contextlib.suppress(OSError):
                os.rmdir(self._tmp)
        if exc_type is None:
            bad = [b for b in BAD_OUTPUT if b in out]
            assert not bad, f"daemon output shows {bad}:\n{out}"
            assert status == 0, f"daemon exited {status}:\n{out}"
        return False


def run_ugitfs(*args, **kw):
    return subprocess.run([UGITFS, *args], capture_output=True, text=True, **kw)
