"""Check that the object files of core/ and of fs/ call one way: within each library, build the
graph "A uses a symbol that B defines" (from `nm`) and fail when it has a cycle. Prints TAP, one
line per library; for each cycle, its files and the symbols on its edges.
Usage: python3 tests/layers.py BUILDDIR"""

import glob
import os
import subprocess
import sys

LIBRARIES = [('core', 'core/libugcore.a.p'), ('fs', 'fs/libugfs.a.p')]


def symbols(obj):
    """(defined, used) global symbol names of one object file."""
    out = subprocess.run(['nm', '-P', obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        if kind == 'U':
            used.add(name)
        elif kind.isupper():  # lower case: local to the file
            defined.add(name)
    return defined, used


def graph(objdir):
    """{file: {file it uses: sorted symbols}} over the objects of one library."""
    files = {}
    for obj in sorted(glob.glob(os.path.join(objdir, '*.o'))):
        name = os.path.basename(obj)
        for suffix in ('.c.o', '.o'):
            if name.endswith(suffix):
                name = name[:-len(suffix)]
                break
        files[name] = symbols(obj)
    owner = {}
    for name, (defined, _) in files.items():
        for sym in defined:
            owner[sym] = name
    edges = {name: {} for name in files}
    for name, (_, used) in files.items():
        for sym in sorted(used):
            to = owner.get(sym)
            if to is not None and to != name:
                edges[name].setdefault(to, []).append(sym)
    return edges


def cycles(edges):
    """The strongly connected components with more than one file (Tarjan, iterative)."""
    index, low, onstack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        onstack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    onstack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    advanced = True
                    break
                if nxt in onstack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    onstack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main(builddir):
    print('1..%d' % len(LIBRARIES))
    failed = 0
    for number, (label, subdir) in enumerate(LIBRARIES, 1):
        objdir = os.path.join(builddir, subdir)
        if not glob.glob(os.path.join(objdir, '*.o')):
            print('not ok %d - %s/ has no call cycle # no object files in %s' % (number, label, objdir))
            failed += 1
            continue
        edges = graph(objdir)
        found = cycles(edges)
        if not found:
            print('ok %d - %s/ has no call cycle' % (number, label))
            continue
        failed += 1
        print('not ok %d - %s/ has no call cycle' % (number, label))
        for component in found:
            print('# cycle: %s' % ' '.join(component))
            for a in component:
                for b in component:
                    if b in edges[a]:
                        print('#   %s -> %s: %s' % (a, b, ' '.join(edges[a][b])))
    return 1 if failed else 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
