"""Reading a second file of a snapshot folder sends its other small files into the kernel's
page cache (fuse_lowlevel_notify_store): reading them then costs no request, and gives git's
bytes. One file read (a diff -r of neighbour snapshots) or a listing sends nothing."""

import os
import signal
import subprocess

import fixtures
from mounting import Mount, wait_for

SMALL = 40          # small files in the folder
BIG = 200 * 1024    # over the size pushed ahead


def build(dest):
    r = fixtures.Repo(dest)
    for i in range(SMALL):
        r.write('dir/f%02d.txt' % i, 'file %d\n' % i * (i + 1), mode=0o755 if i % 7 == 0 else 0o644)
    r.write('dir/big.bin', os.urandom(BIG))
    r.symlink('dir/link', 'f01.txt')
    r.write('dir/sub/inner.txt', 'inner\n')
    r.write('dir/sub/other.txt', 'other\n')
    r.write('dir/sub/third.txt', 'third\n')
    return r, r.commit('a folder of small files, a big one, a link and a subfolder')


def resident(path):
    """Pages of path in the page cache, as fincore(1) counts them (reads nothing through FUSE)."""
    out = subprocess.run(['fincore', '-n', '-b', '-o', 'PAGES', path], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def reads(out):
    return out.count('opcode: READ ')


def test_second_file_read_pushes_the_folder(tmp_path):
    """After two files of a listed folder are read, every other small file of it is in the page
    cache without a READ request; the big file, the subfolder's file are not pushed; every
    file reads back as git stores it."""
    r, head = build(tmp_path / 'repo')
    with Mount(r.path, ['ro'], flags=['-d']) as mnt:
        folder = mnt.path('commits', head, 'dir')
        names = sorted(os.listdir(folder))  # the kernel learns the nodes (READDIRPLUS)
        for n in ('f00.txt', 'f01.txt'):
            with open(os.path.join(folder, n), 'rb') as f:
                f.read()
        others = ['f%02d.txt' % i for i in range(2, SMALL)]
        wait_for(lambda: all(resident(os.path.join(folder, n)) for n in others), 20,
                 'the folder pushed to the page cache')
        before = reads(mnt.output())
        for n in others:
            with open(os.path.join(folder, n), 'rb') as f:
                assert f.read() == r.git('cat-file', 'blob', '%s:dir/%s' % (head, n)), n
        assert reads(mnt.output()) == before, 'a pushed file was read through FUSE'
        assert resident(os.path.join(folder, 'big.bin')) == 0
        assert resident(os.path.join(folder, 'sub', 'inner.txt')) == 0
        with open(os.path.join(folder, 'big.bin'), 'rb') as f:
            assert f.read() == r.git('cat-file', 'blob', '%s:dir/big.bin' % head)
        assert reads(mnt.output()) > before
        assert 'link' in names


def test_listing_or_one_read_pushes_nothing(tmp_path):
    """Listing a folder (ls -l, find) or reading one file of it pushes nothing: only a
    second file read does. Pushes go in order, so once a later folder is pushed, an earlier
    listing or read would have been too."""
    r, head = build(tmp_path / 'repo')
    with Mount(r.path, ['ro']) as mnt:
        folder = mnt.path('commits', head, 'dir')
        for e in os.scandir(folder):
            e.stat(follow_symlinks=False)
        for e in os.scandir(os.path.join(folder, 'sub')):
            e.stat(follow_symlinks=False)
        for n in ('f00.txt', 'sub/inner.txt', 'sub/other.txt'):
            with open(os.path.join(folder, n), 'rb') as f:
                f.read()
        wait_for(lambda: resident(os.path.join(folder, 'sub', 'third.txt')), 20, 'sub/ pushed')
        assert all(resident(os.path.join(folder, 'f%02d.txt' % i)) == 0 for i in range(1, SMALL))


def test_stop_while_a_store_waits_for_a_read(tmp_path):
    """SIGTERM while the push thread is about to store a file: the loop goes on answering the
    kernel until the store is done (a store into a page being read waits for that READ), so a
    read started after the signal gets git's bytes, and the daemon then exits 0."""
    r, head = build(tmp_path / 'repo')
    hold = tmp_path / 'hold'
    hold.write_text('')
    env = dict(os.environ, UGITFS_TEST_HOLD_AT='push-store:%s' % hold)
    with Mount(r.path, ['ro'], env=env) as mnt:
        folder = mnt.path('commits', head, 'dir')
        os.listdir(folder)
        for n in ('f05.txt', 'f06.txt'):  # the push starts at f00.txt, held
            with open(os.path.join(folder, n), 'rb') as f:
                f.read()
        wait_for(lambda: os.path.exists(str(hold) + '.held'), 20, 'the store to be held')
        mnt.proc.send_signal(signal.SIGTERM)
        reader = subprocess.Popen(['cat', os.path.join(folder, 'f00.txt')], stdout=subprocess.PIPE)
        out, _ = reader.communicate(timeout=30)  # answered while the store is held
        assert out == r.git('cat-file', 'blob', '%s:dir/f00.txt' % head)
        assert mnt.proc.poll() is None, 'the daemon waits for the store'
        hold.unlink()
        assert mnt.proc.wait(timeout=30) == 0, mnt.output()
        assert 'Terminated: unmounting' in mnt.output()
