#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from repositories that real git builds on the fly, plus small edge cases.

Usage: tests/fuzz/make_corpus.py OUTDIR   (writes OUTDIR/<target>/<seed>; the folders are emptied first)
Each seed has the input layout its target's comment describes (tests/fuzz/fuzz_*.c).
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SEP = b"\n%%\n"  # FUZZ_SEP in fuzz_util.h
ENV = dict(os.environ, GIT_AUTHOR_NAME="A U Thor", GIT_AUTHOR_EMAIL="a@example.com",
           GIT_COMMITTER_NAME="C O Mitter", GIT_COMMITTER_EMAIL="c@example.com",
           GIT_AUTHOR_DATE="1700000000 +0130", GIT_COMMITTER_DATE="1700000100 -0700",
           GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(repo, *args, data=None):
    return subprocess.run(["git", "-C", repo, *args], input=data, env=ENV, check=True,
                          stdout=subprocess.PIPE).stdout


def make_repo(path, algo):
    """A repository with history worth parsing: nested trees, an executable, a symlink,
    a merge, annotated and lightweight tags, similar blobs (deltas), odd names."""
    subprocess.run(["git", "init", "-q", "-b", "main", f"--object-format={algo}", path], env=ENV,
                   check=True)
    body = "".join(f"line {i} of a file long enough to be deltified well\n" for i in range(200))
    files = {"README": "hello\n", "src/main.c": "int main(void) { return 0; }\n",
             "src/deep/er/x.txt": body, "bin/run.sh": "#!/bin/sh\necho run\n",
             "name with spaces": "s\n", "\u00e9t\u00e9.txt": "utf-8 name\n"}
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(path, rel)) or path, exist_ok=True)
        with open(os.path.join(path, rel), "w") as f:
            f.write(text)
    os.chmod(os.path.join(path, "bin/run.sh"), 0o755)
    os.symlink("src/main.c", os.path.join(path, "link"))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "first\n\nwith a body")
    for i in range(3):
        with open(os.path.join(path, "src/deep/er/x.txt"), "a") as f:
            f.write(f"appended {i}\n")
        git(path, "commit", "-q", "-am", f"change {i}")
    git(path, "checkout", "-q", "-b", "side", "HEAD~2")
    with open(os.path.join(path, "side.txt"), "w") as f:
        f.write("side\n")
    git(path, "add", "side.txt")
    git(path, "commit", "-q", "-m", "side")
    git(path, "checkout", "-q", "main")
    git(path, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    git(path, "tag", "-a", "-m", "annotated\n\nbody", "v1.0", "HEAD~1")
    git(path, "-c", "advice.nestedTag=false", "tag", "-a", "-m", "tag of a tag", "v1.0-again", "v1.0")
    git(path, "tag", "light", "HEAD")
    git(path, "tag", "-a", "-m", "a tree", "tree-tag", "HEAD^{tree}")
    git(path, "config", "remote.origin.url", "https://example.com/r.git")
    git(path, "config", "branch.main.remote", "origin")
    git(path, "update-ref", "refs/remotes/origin/main", "HEAD~1")
    git(path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return path


def objects_of(repo):
    """(oid, type, raw content) of every object, in a stable order."""
    lines = git(repo, "cat-file", "--batch-all-objects", "--batch-check").decode().split("\n")
    out = []
    for line in filter(None, lines):
        oid, kind, _ = line.split()
        out.append((oid, kind, git(repo, "cat-file", kind, oid)))
    return out


class Seeds:
    def __init__(self, outdir):
        self.outdir = outdir

    def add(self, target, data, name=None):
        d = os.path.join(self.outdir, target)
        os.makedirs(d, exist_ok=True)
        name = name or hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def loose_seeds(s, repo, objs):
    objdir = os.path.join(repo, ".git", "objects")
    kinds = set()
    for oid, kind, _ in objs:
        path = os.path.join(objdir, oid[:2], oid[2:])
        if kind in kinds or not os.path.exists(path):
            continue
        kinds.add(kind)
        with open(path, "rb") as f:
            s.add("fuzz_loose", f.read())
    for raw in (b"blob 0\0", b"blob 5\0hello", b"blob 01\0x", b"blob 2\0x", b"blob\0",
                b"tree 0\0", b"commit 3 \0abc", b"blob 18446744073709551615\0",
                b"blob 99999999999999999999999\0", b"tag 1\0x"):
        s.add("fuzz_loose", zlib.compress(raw))
    s.add("fuzz_loose", zlib.compress(b"blob 5\0hello")[:-3])  # truncated checksum
    s.add("fuzz_loose", zlib.compress(b"blob 5\0hello") + b"junk")  # trailing bytes
    s.add("fuzz_loose", zlib.compress(b"blob 4096\0" + b"a" * 4096, 0))  # header past a stored block


def format_seeds(s, objs, sel, ugit_objs=()):
    """tree/commit/tag seeds: the selector byte, then the content."""
    target = {"tree": "fuzz_tree", "commit": "fuzz_commit", "tag": "fuzz_tag"}
    for _, kind, raw in objs:
        if kind in target:
            s.add(target[kind], bytes([sel]) + raw)
    # two versions of one tree, one id changed: its halves are compared side by side
    for _, kind, raw in objs:
        if kind == "tree" and len(raw) > 2:
            s.add("fuzz_tree", bytes([sel]) + raw + raw[:-1] + bytes([raw[-1] ^ 1]))


def ugit_seeds(s, objs):
    """ugit's formats, converted from git's objects: text trees, commits without authors."""
    ids = [oid for oid, _, _ in objs]
    a, b = ids[0], ids[-1]
    tree = f"blob {a} README\ntree {b} src\nblob {a} x y\n".encode()
    commit = f"tree {b}\nparent {a}\nparent {b}\n\nugit commit\n\nbody\n".encode()
    for kind, raw in (("tree", tree), ("commit", commit), ("commit", f"tree {b}\n\nroot\n".encode())):
        s.add("fuzz_tree" if kind == "tree" else "fuzz_commit", b"\x02" + raw)
        s.add("fuzz_ugit_object", kind.encode() + b"\0" + raw)
    for raw in (b"blob\0hello", b"blob\0", b"tree\0", b"nonsense\0x", b"blob", b"tag\0object x\n",
                b"tree\0blob " + a.encode() + b" ..\ntree " + b.encode() + b" .git\n"):
        s.add("fuzz_ugit_object", raw)


def delta_encode(base, target):
    """A git delta: whole 16-byte-aligned copies where the bytes match, inserts elsewhere."""
    def varint(n):
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)
    out = bytearray(varint(len(base)) + varint(len(target)))
    i = 0
    while i < len(target):
        j = base.find(target[i:i + 16]) if len(target) - i >= 16 else -1
        if j >= 0:
            n = 16
            while i + n < len(target) and j + n < len(base) and target[i + n] == base[j + n] and n < 0xFFFF:
                n += 1
            op, args = 0x80, bytearray()
            for k in range(4):
                if (j >> (8 * k)) & 0xFF:
                    op |= 1 << k
                    args.append((j >> (8 * k)) & 0xFF)
            for k in range(3):
                if (n >> (8 * k)) & 0xFF:
                    op |= 0x10 << k
                    args.append((n >> (8 * k)) & 0xFF)
            out += bytes([op]) + args
            i += n
        else:
            chunk = target[i:i + 127]
            out += bytes([len(chunk)]) + chunk
            i += len(chunk)
    return bytes(out)


def delta_seeds(s, objs):
    blobs = [raw for _, kind, raw in objs if kind == "blob"]
    blobs.sort(key=len)
    pairs = list(zip(blobs, blobs[1:]))[-4:] + [(b"", b"new"), (b"abc", b"")]
    for base, target in pairs:
        s.add("fuzz_delta", struct.pack(">H", len(base)) + base + delta_encode(base, target))
    # edge cases: opcode 0, a copy of size 0 (means 0x10000), a copy past the base, a truncated insert
    for base, delta in ((b"abcd", b"\x04\x04\x00"), (b"abcd", b"\x04\x80\x80\x80\x80\x80\x80"),
                        (b"abcd", b"\x04\x04\x91\x02\x04"), (b"abcd", b"\x04\x04\x05ab"),
                        (b"", b"\x00\x00"), (b"x", b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")):
        s.add("fuzz_delta", struct.pack(">H", len(base)) + base + delta)


def pack_seeds(s, repo, sel):
    """Packs as git writes them: OFS_DELTA, REF_DELTA, idx v1, 64-bit offsets."""
    out = os.path.join(repo, "seedpacks")
    os.makedirs(out, exist_ok=True)
    revs = git(repo, "rev-list", "--objects", "--all")
    variants = [("ofs", ["--delta-base-offset"]), ("ref", []),
                ("v1", ["--delta-base-offset", "--index-version=1"]),
                ("large", ["--delta-base-offset", "--index-version=2,0x100"])]
    for name, opts in variants:
        if name == "v1" and sel & 1:
            continue  # SHA-256 packs have no v1 index
        h = git(repo, "pack-objects", "-q", "--window=10", *opts, os.path.join(out, name),
                data=revs).decode().strip()
        with open(os.path.join(out, f"{name}-{h}.idx"), "rb") as f:
            idx = f.read()
        with open(os.path.join(out, f"{name}-{h}.pack"), "rb") as f:
            pack = f.read()
        for flags in (0, 6):
            s.add("fuzz_pack", bytes([sel | flags]) + struct.pack(">I", len(idx)) + idx + pack)
    shutil.rmtree(out)


def refs_seeds(s, repo, sel):
    gd = os.path.join(repo, ".git")
    git(repo, "pack-refs", "--all", "--no-prune")
    with open(os.path.join(gd, "packed-refs"), "rb") as f:
        packed = f.read()
    loose = []
    for rel in ("HEAD", "refs/heads/main", "refs/tags/v1.0", "refs/heads/side", "refs/remotes/origin/HEAD"):
        with open(os.path.join(gd, rel), "rb") as f:
            loose.append(f.read())
    s.add("fuzz_refs", bytes([sel]) + SEP.join([packed] + loose))
    s.add("fuzz_refs", bytes([sel]) + packed)
    # the trait line without "peeled", a ^ line with no ref, ugit values without newline
    first = loose[1].strip()
    s.add("fuzz_refs", bytes([sel]) + b"# pack-refs with:\n" + first + b" refs/tags/x\n^" + first + b"\n")
    s.add("fuzz_refs", bytes([sel]) + b"^" + first + b"\n" + SEP + b"ref: refs/heads/main" + SEP + first)
    s.add("fuzz_refs", bytes([sel]) + SEP + b"ref: HEAD\n" + SEP + b"ref: refs/heads/main\n")


def commitgraph_seeds(s, repo, sel):
    """Graphs as git writes them: one file with changed-path filters, then a split chain of two."""
    info = os.path.join(repo, ".git", "objects", "info")
    git(repo, "commit-graph", "write", "--reachable", "--changed-paths")
    with open(os.path.join(info, "commit-graph"), "rb") as f:
        s.add("fuzz_commitgraph", bytes([sel]) + f.read())
    git(repo, "commit-graph", "write", "--reachable", "--split=no-merge")
    git(repo, "-c", "user.name=f", "-c", "user.email=f@e", "commit", "-q", "--allow-empty", "-m", "more")
    git(repo, "commit-graph", "write", "--reachable", "--split=no-merge", "--changed-paths")
    chain_dir = os.path.join(info, "commit-graphs")
    with open(os.path.join(chain_dir, "commit-graph-chain")) as f:
        names = f.read().split()
    layers = []
    for h in names:
        with open(os.path.join(chain_dir, "graph-%s.graph" % h), "rb") as f:
            layers.append(f.read())
    s.add("fuzz_commitgraph", bytes([sel]) + SEP.join(layers))


def repo_seeds(s, repo):
    gd = os.path.join(repo, ".git")
    parts = []
    for rel in ("HEAD", "config", "packed-refs"):
        with open(os.path.join(gd, rel), "rb") as f:
            parts.append(f.read())
    head, config, packed = parts
    for gitfile in (b"gitdir: ../g\n", b""):
        s.add("fuzz_repo", SEP.join([gitfile, head, config]))
        s.add("fuzz_repo", SEP.join([gitfile, head, config, b"", b"../../objects\n#c\n", packed]))
    s.add("fuzz_repo", SEP.join([b"gitdir: ../g", b"ref: refs/heads/x", b"", b"..\n"]))
    s.add("fuzz_repo", SEP.join([b"", b"ref: refs/heads/main", b"[extensions]objectformat=sha256\n"
                                 b"[core]repositoryformatversion=1\n"]))
    head_id = git(repo, "rev-parse", "HEAD").strip()
    s.add("fuzz_repo", SEP.join([b"", head, config, b"", b"", packed, head_id + b"\n" + b"0" * 40 + b"\nx\n"]))


CONFIGS = [
    b"[core]\n\tbare = false\n\trepositoryformatversion = 0\n[user]\n\tname = \"A \\\"quoted\\\" name\"\n",
    b"[remote \"origin\"]\n\turl = x ; comment\n\tfetch = +refs/*:refs/*\n[branch \"a\\\"b\"]\n\tremote\n",
    b"\xef\xbb\xbf[a]\nb = 1k\nc = -2g\nd = yes\ne = continued \\\n line\n[a.b]\nc=1\n[A \"B\"] d = 3\n",
    b"[include]\n\tpath = ~/x\n[core]excludesfile=~/ignore\n#c\n;c\n[x]y=\"unterminated\n",
    b"[extensions]\n\tobjectformat = sha256\n\tworktreeconfig\n" + SEP + b"extensions.objectformat\nX.Y\nx..y\n",
]
IGNORES = [
    b"*.o\n!keep.o\n/build/\ndoc/**/*.txt\n**/tmp\n\\#lit\n\\!bang\nsp\\ \nx[a-c]y\n[!z]*.q\n#c\n\n",
    b"a/**\n!a/b\n*.[oa]\nfoo/\n**\n/\n\\\n[\n[]]\n[a-]\n***/x\n" + SEP + b"*.txt\n!/x\n" + SEP +
    b"a/b\nfoo.o\nkeep.o\nbuild\ndoc/a/b.txt\ntmp/x\nx b y\n#lit\n!bang\nsp \nxby\nq.q\n",
]


def main():
    outdir = sys.argv[1]
    shutil.rmtree(outdir, ignore_errors=True)
    s = Seeds(outdir)
    with tempfile.TemporaryDirectory(prefix="ugitfs-corpus-") as tmp:
        for algo, sel in (("sha1", 0), ("sha256", 1)):
            repo = make_repo(os.path.join(tmp, algo), algo)
            objs = objects_of(repo)
            if algo == "sha1":
                loose_seeds(s, repo, objs)
                delta_seeds(s, objs)
                ugit_seeds(s, objs)
                with open(os.path.join(repo, ".git", "config"), "rb") as f:
                    s.add("fuzz_config", f.read())
            format_seeds(s, objs, sel)
            pack_seeds(s, repo, sel)
            refs_seeds(s, repo, sel)
            if algo == "sha1":
                repo_seeds(s, repo)
            commitgraph_seeds(s, repo, sel)
    for c in CONFIGS:
        s.add("fuzz_config", c)
    for g in IGNORES:
        s.add("fuzz_ignore", g)
    for target in sorted(os.listdir(outdir)):
        print(f"{target}: {len(os.listdir(os.path.join(outdir, target)))} seeds")


if __name__ == "__main__":
    main()
