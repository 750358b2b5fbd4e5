"""Budgets under a mount (ugitfs(1), ERRORS): hostile sizes meet bounded memory in the daemon.
A tree bomb arriving on the working branch, a symlink claiming a gigabyte, and files of a
gigabyte (loose and packed) read whole, each with the daemon's peak RSS measured."""

import errno
import hashlib
import os
import random
import struct
import subprocess
import time
import zlib

import fixtures
from mounting import Mount, run_ugitfs

MiB = 1 << 20
GiB = 1 << 30


def peak_rss(mnt):
    """The daemon's peak resident memory so far (VmHWM), in bytes."""
    with open('/proc/%d/status' % mnt.proc.pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise AssertionError('no VmHWM for the daemon')


def bare_repo(tmp_path):
    """A bare repository (so work/ exists) with a small history on main."""
    src = fixtures.Repo(tmp_path / 'src')
    src.write('README.md', 'a small repository\n')
    src.write('src/main.c', fixtures.C_SOURCE)
    src.commit('start')
    src.write('notes.txt', 'notes\n')
    src.commit('notes')
    dest = str(tmp_path / 'repo.git')
    fixtures.run_git(['clone', '-q', '--bare', src.path, dest])
    return fixtures.Repo(dest, init=False)


def head_entries(r, rev='main'):
    entries = []
    for line in r.git('ls-tree', '-z', rev).split(b'\0'):
        if line:
            meta, name = line.split(b'\t', 1)
            mode, _, oid = meta.decode().split(' ')
            entries.append((mode.lstrip('0'), name, oid))
    return entries


def put_commit(r, entries, parent, message, ref):
    """A commit of a tree made of entries, on top of parent, published at ref as a push would."""
    tree = fixtures.write_loose(r.path, 'tree', fixtures.tree_bytes(entries))
    commit = fixtures.write_loose(r.path, 'commit',
                                  fixtures.commit_bytes(tree, [parent], message, fixtures.EPOCH + 7200))
    r.git('update-ref', ref, commit, parent)
    return commit


def bomb(r, leaf, levels):
    """levels trees, each naming the one below twice: 2^levels paths from a few objects."""
    below = fixtures.write_loose(r.path, 'blob', leaf)
    mode = '100644'
    for _ in range(levels):
        below = fixtures.write_loose(r.path, 'tree', fixtures.tree_bytes([(mode, 'a', below), (mode, 'b', below)]))
        mode = '40000'
    return below


LEVELS = 22  # 4 million paths


def small_quarantine():
    """The environment for a daemon whose peak RSS is measured: under AddressSanitizer,
    its quarantine of freed memory (256 MiB by default) is not the daemon's, so it is
    kept small and the daemon's own peak is what counts."""
    env = dict(os.environ)
    env['ASAN_OPTIONS'] = ':'.join(filter(None, [env.get('ASAN_OPTIONS', ''), 'quarantine_size_mb=16']))
    return env


def status(mnt):
    p = run_ugitfs('--status', mnt.mnt)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_tree_bomb_arriving_on_the_branch(tmp_path):
    """A commit whose tree names 4 million paths arrives on the working branch while a
    change is pending: the sync commits on top of it without expanding it; a second bomb
    that differs from the first at every path meets the diff's budget: the sync goes to a
    conflict branch (one log line), the branch is left alone. Peak RSS of the daemon
    stays under 512 MiB."""
    r = bare_repo(tmp_path)
    with Mount(r.path, env=small_quarantine()) as mnt:
        with open(mnt.path('work', 'README.md'), 'w') as f:
            f.write('my change\n')
        assert status(mnt) == ['M  README.md']
        tip = r.rev('main')
        first = bomb(r, b'one\n', LEVELS)
        theirs = put_commit(r, head_entries(r) + [('40000', 'bomb', first)], tip, 'a tree bomb', 'refs/heads/main')
        p = run_ugitfs('--sync', '-m', 'mine', mnt.mnt)
        assert p.returncode == 0, p.stderr + mnt.output()
        mine = p.stdout.strip()
        assert r.rev('main') == mine and r.rev(mine + '^') == theirs
        assert r.git('show', 'main:README.md') == b'my change\n'
        assert r.rev('main:bomb') == first
        assert status(mnt) == []
        first_peak = peak_rss(mnt)

        # the other bomb: every one of its 4 million paths differs from the first's
        with open(mnt.path('work', 'README.md'), 'w') as f:
            f.write('my second change\n')
        other = bomb(r, b'two\n', LEVELS)
        log_before = len(mnt.output().splitlines())
        keep = [e for e in head_entries(r) if e[1] != b'bomb']
        theirs2 = put_commit(r, keep + [('40000', 'bomb', other)], mine, 'another bomb',
                             'refs/heads/main')
        p = run_ugitfs('--sync', '-m', 'mine again', mnt.mnt)
        peak = peak_rss(mnt)
        lines = mnt.output().splitlines()[log_before:]
        # the diff cannot tell which paths the bomb touched: a conflict, as when they overlap
        assert p.returncode == 0, p.stderr + mnt.output()
        mine2 = p.stdout.strip()
        assert fixtures.run_git(['-C', r.path, 'show', mine2 + ':README.md']) == b'my second change\n'
        assert r.rev('main') == theirs2, 'the branch is left alone'
        conflicts = r.git('for-each-ref', '--format=%(objectname)', 'refs/heads/ugitfs/conflict/').split()
        assert [c.decode() for c in conflicts] == [mine2]
        assert len([line for line in lines if 'budget' in line]) == 1, lines
        print('tree bomb: peak RSS %.1f MiB after the first sync, %.1f MiB after the second'
              % (first_peak / MiB, peak / MiB))
        assert first_peak < 512 * MiB and peak < 512 * MiB, (first_peak, peak)


def test_tree_bomb_snapshot_is_read_lazily(tmp_path):
    """Listing commits/ and log/, and walking a bomb snapshot a few levels down, read
    only what is asked for: the daemon's memory stays small."""
    r = bare_repo(tmp_path)
    top = bomb(r, b'leaf\n', LEVELS)
    commit = put_commit(r, head_entries(r) + [('40000', 'bomb', top)], r.rev('main'), 'a tree bomb',
                        'refs/heads/main')
    with Mount(r.path, ['ro']) as mnt:
        assert commit in os.listdir(mnt.path('commits'))
        assert len(os.listdir(mnt.path('log', 'main'))) == 3
        snap = mnt.path('commits', commit)
        assert sorted(os.listdir(snap)) == ['README.md', 'bomb', 'notes.txt', 'src']
        out = subprocess.run(['find', os.path.join(snap, 'bomb'), '-maxdepth', '8'], capture_output=True, check=True)
        assert len(out.stdout.splitlines()) == 2 ** 9 - 1
        deep = os.path.join(snap, 'bomb', *(['b'] * LEVELS))
        with open(deep, 'rb') as f:
            assert f.read() == b'leaf\n'
        assert peak_rss(mnt) < 128 * MiB, peak_rss(mnt)


def zlib_repeated(prefix, piece, count):
    """A zlib stream of prefix + piece * count, made by compressing piece once: after a
    full flush deflate starts afresh, so every copy of piece compresses to the same bytes."""
    c = zlib.compressobj(9)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    one = c.compress(piece) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(piece) + c.flush(zlib.Z_FULL_FLUSH)
    assert one == again
    end = c.flush(zlib.Z_FINISH)[:-4]  # the final block; its checksum is of the whole below
    adler = zlib.adler32(prefix)
    for _ in range(count):
        adler = zlib.adler32(piece, adler)
    return head + one * count + end + struct.pack('>I', adler)


def test_symlink_claiming_a_gigabyte_is_refused_from_its_header(tmp_path):
    """A symlink whose blob is 1 GiB is refused (EIO, one log line) without reading
    it: no memory jump, no long wait."""
    r = bare_repo(tmp_path)
    piece = bytes(MiB)
    h = hashlib.sha1(b'blob %d\0' % GiB)
    for _ in range(GiB // MiB):
        h.update(piece)
    oid = h.hexdigest()
    fixtures.write_loose_raw(r.path, oid, zlib_repeated(b'blob %d\0' % GiB, piece, GiB // MiB))
    commit = put_commit(r, head_entries(r) + [('120000', 'huge-link', oid)], r.rev('main'), 'a big link',
                        'refs/heads/main')
    with Mount(r.path, ['ro']) as mnt:
        link = mnt.path('commits', commit, 'huge-link')
        os.lstat(link)
        before = peak_rss(mnt)
        log_before = len(mnt.output().splitlines())
        start = time.monotonic()
        try:
            os.readlink(link)
            raise AssertionError('a 1 GiB symlink target was returned')
        except OSError as e:
            assert e.errno in (errno.EIO, errno.ENAMETOOLONG), e
        took = time.monotonic() - start
        lines = [line for line in mnt.output().splitlines()[log_before:] if oid[:7] in line]
        after = peak_rss(mnt)
        print('1 GiB symlink: refused in %.3f s, peak RSS %.1f -> %.1f MiB' % (took, before / MiB, after / MiB))
        assert len(lines) == 1, mnt.output()
        assert after - before < 32 * MiB, (before, after)
        assert took < 10, took  # a hang guard, not a speed test
        # the rest of the snapshot reads
        with open(mnt.path('commits', commit, 'README.md')) as f:
            assert f.read() == 'a small repository\n'


def big_content(seed):
    """1 GiB in 1 MiB chunks: a random pattern of 4093 bytes (so no two pages agree)
    repeated, each chunk starting with its number. Compresses well, cheaply."""
    rnd = random.Random(seed)
    pat = bytes(rnd.getrandbits(8) for _ in range(4093))
    block = (pat * (MiB // len(pat) + 1))[:MiB]
    for i in range(GiB // MiB):
        yield struct.pack('<QQ', seed, i) + block[16:]


def write_big_loose(gitdir, seed):
    """A loose blob of 1 GiB, written as it is compressed; returns (id, sha1 of content)."""
    header = b'blob %d\0' % GiB
    oid, content = hashlib.sha1(header), hashlib.sha1()
    c = zlib.compressobj(1)
    tmp = os.path.join(gitdir, 'objects', 'big.tmp')
    with open(tmp, 'wb') as f:
        f.write(c.compress(header))
        for chunk in big_content(seed):
            oid.update(chunk)
            content.update(chunk)
            f.write(c.compress(chunk))
        f.write(c.flush())
    oid = oid.hexdigest()
    os.makedirs(os.path.join(gitdir, 'objects', oid[:2]), exist_ok=True)
    os.rename(tmp, os.path.join(gitdir, 'objects', oid[:2], oid[2:]))
    return oid, content.hexdigest()


def write_big_pack(gitdir, seed):
    """A pack holding one undeltified blob of 1 GiB (as git stores files over
    core.bigFileThreshold) and its .idx; returns (id, sha1 of content)."""
    oid, content = hashlib.sha1(b'blob %d\0' % GiB), hashlib.sha1()
    c = zlib.compressobj(1)
    head = b'PACK' + struct.pack('>II', 2, 1)
    entry = fixtures.pack_entry_header(3, GiB)
    packsum, crc = hashlib.sha1(head + entry), zlib.crc32(entry)
    tmp = os.path.join(gitdir, 'objects', 'pack', 'big.tmp')
    with open(tmp, 'wb') as f:
        f.write(head + entry)

        def out(z):
            nonlocal crc
            packsum.update(z)
            crc = zlib.crc32(z, crc)
            f.write(z)
        for chunk in big_content(seed):
            oid.update(chunk)
            content.update(chunk)
            out(c.compress(chunk))
        out(c.flush())
        trailer = packsum.digest()
        f.write(trailer)
    oid = oid.hexdigest()
    fanout = b''.join(struct.pack('>I', 0 if i < int(oid[:2], 16) else 1) for i in range(256))
    idx = (b'\377tOc' + struct.pack('>I', 2) + fanout + bytes.fromhex(oid) + struct.pack('>I', crc & 0xffffffff)
           + struct.pack('>I', 12) + trailer)
    idx += hashlib.sha1(idx).digest()
    name = os.path.join(gitdir, 'objects', 'pack', 'pack-' + trailer.hex())
    os.rename(tmp, name + '.pack')
    with open(name + '.idx', 'wb') as f:
        f.write(idx)
    return oid, content.hexdigest()


def test_gigabyte_files_read_whole_in_flat_memory(tmp_path):
    """1 GiB files, one loose and one undeltified in a pack, read whole through the
    mount (in a snapshot, and the loose one in work/ too): the right bytes, and the
    daemon's peak RSS under the default cap (256 MiB) plus 64 MiB."""
    r = bare_repo(tmp_path)
    loose, loose_sum = write_big_loose(r.path, 1)
    packed, packed_sum = write_big_pack(r.path, 2)
    assert r.git('cat-file', '-s', loose).strip() == str(GiB).encode()
    assert r.git('cat-file', '-s', packed).strip() == str(GiB).encode()
    commit = put_commit(r, head_entries(r) + [('100644', 'loose.bin', loose), ('100644', 'packed.bin', packed)],
                        r.rev('main'), 'two big files', 'refs/heads/main')
    with Mount(r.path, env=small_quarantine()) as mnt:
        # random access first (nothing cached by the kernel yet): behind and ahead
        chunks = {i: c for i, c in enumerate(big_content(1)) if i in (3, 700, 5, 1023)}
        with open(mnt.path('commits', commit, 'loose.bin'), 'rb') as f:
            for i in (700, 3, 1023, 5):
                f.seek(i * MiB + 4000)
                assert f.read(70000) == chunks[i][4000:74000], i
        for name, want in (('loose.bin', loose_sum), ('packed.bin', packed_sum), ('work/loose.bin', loose_sum)):
            path = mnt.path(name) if name.startswith('work/') else mnt.path('commits', commit, name)
            assert os.stat(path).st_size == GiB
            start = time.monotonic()
            out = subprocess.run(['sha1sum', path], capture_output=True, text=True, check=True)
            took = time.monotonic() - start
            assert out.stdout.split()[0] == want, name
            print('%s: 1 GiB read in %.1f s, daemon peak RSS %.1f MiB' % (name, took, peak_rss(mnt) / MiB))
        peak = peak_rss(mnt)
        assert peak < 320 * MiB, peak / MiB


def test_big_file_stored_as_a_delta_reads_whole(tmp_path):
    """A big file git stored as a delta cannot stream: it is read whole, right bytes."""
    src = fixtures.Repo(tmp_path / 'src')
    data = b''.join(b'%08d some line of a big text file\n' % i for i in range(300000))  # 12 MiB
    src.write('big.txt', data)
    src.commit('big')
    changed = data[:1000] + b'a change\n' + data[1000:]
    src.write('big.txt', changed)
    src.commit('changed')
    src.git('repack', '-a', '-d', '-f', '-q')
    objects = src.git('verify-pack', '-v', *[os.path.join(src.gitdir, 'objects', 'pack', p) for p in
                                             os.listdir(os.path.join(src.gitdir, 'objects', 'pack')) if p.endswith('.idx')])
    blobs = {src.rev('HEAD:big.txt'), src.rev('HEAD^:big.txt')}
    deltified = [line for line in objects.decode().splitlines() if line.split(' ')[0] in blobs and len(line.split()) > 5]
    assert deltified, 'git stored one of the two versions as a delta'
    with Mount(src.path, ['ro']) as mnt:
        for rev, want in (('HEAD', changed), ('HEAD^', data)):
            with open(mnt.path('commits', src.rev(rev), 'big.txt'), 'rb') as f:
                assert f.read() == want, rev


def test_big_file_with_a_cut_stream_fails_alone(tmp_path):
    """A 64 MiB loose file whose zlib stream is cut: reading it fails with EIO and a log
    line naming it; the daemon lives and the rest reads."""
    r = bare_repo(tmp_path)
    content = b''.join(struct.pack('<Q', i) + bytes(range(256)) * 16 for i in range(64 * MiB // 4104 + 1))[:64 * MiB]
    oid = hashlib.sha1(b'blob %d\0' % len(content) + content).hexdigest()
    z = zlib.compress(b'blob %d\0' % len(content) + content, 1)
    fixtures.write_loose_raw(r.path, oid, z[:len(z) * 2 // 3])
    commit = put_commit(r, head_entries(r) + [('100644', 'cut.bin', oid)], r.rev('main'), 'a cut file',
                        'refs/heads/main')
    with Mount(r.path, ['ro']) as mnt:
        path = mnt.path('commits', commit, 'cut.bin')
        assert os.stat(path).st_size == len(content)
        try:
            with open(path, 'rb') as f:
                f.read()
            raise AssertionError('a cut stream was read whole')
        except OSError as e:
            assert e.errno == errno.EIO, e
        assert oid[:12] in mnt.output(), mnt.output()
        with open(mnt.path('commits', commit, 'README.md')) as f:
            assert f.read() == 'a small repository\n'


def test_history_of_a_folder_of_many_changing_subfolders_meets_a_budget(tmp_path):
    """A folder naming one subtree 20,000 times, that subtree changed in each of 200
    commits: the last-change walk of the folder would record 4 million subfolder
    changes. It meets its budget instead (one log line per look; the entries show the
    folder's own time), the snapshot still reads, and the daemon's memory stays small."""
    r = bare_repo(tmp_path)
    tip = r.rev('main')
    names = ['s%05d' % i for i in range(20000)]
    for n in range(200):
        leaf = fixtures.write_loose(r.path, 'blob', b'version %d\n' % n)
        sub = fixtures.write_loose(r.path, 'tree', fixtures.tree_bytes([('100644', 'f', leaf)]))
        raw = bytes.fromhex(sub)
        many = fixtures.write_loose(r.path, 'tree', b''.join(b'40000 %s\0%s' % (s.encode(), raw) for s in names))
        tree = fixtures.write_loose(r.path, 'tree', fixtures.tree_bytes([('40000', 'many', many)]))
        commit = fixtures.write_loose(r.path, 'commit',
                                      fixtures.commit_bytes(tree, [tip], 'version %d' % n, fixtures.EPOCH + 60 * n))
        tip = commit
    r.git('update-ref', 'refs/heads/many', tip)
    with Mount(r.path, ['ro'], env=small_quarantine()) as mnt:
        folder = mnt.path('commits', tip, 'many')
        assert len(os.listdir(folder)) == 20000
        with open(os.path.join(folder, 's00042', 'f'), 'rb') as f:
            assert f.read() == b'version 199\n'
        assert os.stat(os.path.join(folder, 's00042')).st_mtime > 0
        lines = [line for line in mnt.output().splitlines() if 'budget' in line]
        assert lines, mnt.output()
        peak = peak_rss(mnt)
        print('many changing subfolders: peak RSS %.1f MiB, %d budget lines' % (peak / MiB, len(lines)))
        assert peak < 192 * MiB, peak / MiB
