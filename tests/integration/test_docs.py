"""What installs beside the binaries: man pages that render cleanly, bash completions, example systemd units."""

import configparser
import os
import re
import shutil
import subprocess

import pytest

from mounting import BUILD, UGITFS, Mount

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MAN_PAGES = ['mount-tools/ugitfs.1', 'mount-tools/ugit/ugit.1']
UGIT = os.path.join(BUILD, 'mount-tools', 'ugit', 'ugit')
UNITS = os.path.join(ROOT, 'docs', 'systemd')


def render(page):
    """man's output and its warnings for one page file, at a fixed width."""
    env = dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='', LC_ALL='C.UTF-8')
    env.pop('MANPAGER', None)
    p = subprocess.run(['man', '--warnings', '-E', 'UTF-8', '-l', page], capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_man_warnings_are_seen(tmp_path):
    """The check below can fail: a page with an unknown macro draws a warning."""
    bad = tmp_path / 'bad.1'
    bad.write_text('.TH BAD 1\n.SH NAME\nbad \\- bad\n.XYZZY oops\n')
    _, _, err = render(str(bad))
    assert 'XYZZY' in err, err


@pytest.mark.parametrize('page', MAN_PAGES)
def test_man_page_renders_without_warnings(page):
    status, out, err = render(os.path.join(ROOT, page))
    assert status == 0 and err == '', err
    for section in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'):
        assert re.search('^' + section + '$', out, re.M), section


def test_man_page_has_every_option_of_help():
    """Every -o option that `ugitfs --help` lists, and every command form, is in ugitfs(1)."""
    usage = subprocess.run([UGITFS, '--help'], capture_output=True, text=True, check=True).stdout
    options = re.findall(r'^\s+-o (\w+)', usage, re.M)
    assert {'ro', 'branch', 'autosync', 'author', 'verify', 'memory'} <= set(options), usage
    _, out, _ = render(os.path.join(ROOT, 'mount-tools/ugitfs.1'))
    text = re.sub(r'\s+', ' ', out.replace('\u2010', '-'))
    for opt in options + ['allow_other', 'default_permissions', '--sync', '--status', 'fuse.ugitfs',
                          'HEAD', 'branches/', 'tags/', 'commits/', 'log/', 'work/',
                          'EROFS', 'EIO', 'EPERM', 'fstab', 'Partial clones', 'x-systemd']:
        assert opt in text, opt


def complete(script, words, cwd=None):
    """COMPREPLY of the completion function in script for the command line words (last one being typed)."""
    arr = ' '.join("'" + w.replace("'", "'\\''") + "'" for w in words)
    func = '_' + words[0]
    prog = f'source "$1"; COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; {func}; printf "%s\\n" "${{COMPREPLY[@]}}"'
    p = subprocess.run(['bash', '--norc', '--noprofile', '-c', prog, 'bash', os.path.join(ROOT, 'completions', script)],
                       capture_output=True, text=True, cwd=cwd, timeout=30)
    assert p.returncode == 0 and p.stderr == '', p.stderr
    return [line for line in p.stdout.split('\n') if line]


@pytest.mark.parametrize('name', ['ugitfs', 'ugit'])
def test_completion_registers(name):
    p = subprocess.run(['bash', '--norc', '--noprofile', '-c', f'source "$1" && complete -p {name}', 'bash',
                        os.path.join(ROOT, 'completions', name)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == '', p.stderr
    assert p.stdout.strip() == f'complete -F _{name} {name}'


def test_ugitfs_completes_options_and_values(repos):
    fx = repos.get('slash_branches')
    assert complete('ugitfs', ['ugitfs', '--st']) == ['--status']
    assert set(complete('ugitfs', ['ugitfs', '-'])) >= {'-f', '-d', '-o', '--sync', '--status'}
    assert complete('ugitfs', ['ugitfs', '-o', 'ro,auth']) == ['ro,author=']
    assert complete('ugitfs', ['ugitfs', '-o', 've']) == ['verify']
    assert complete('ugitfs', ['ugitfs', '-o', 'ro,a']) == ['ro,autosync=', 'ro,author=', 'ro,allow_other', 'ro,auto']
    # branch= offers the branches of the repository already on the line
    branches = subprocess.run(['git', '-C', fx.path, 'for-each-ref', '--format=%(refname:short)', 'refs/heads'],
                              capture_output=True, text=True, check=True).stdout.split()
    assert any('/' in b for b in branches), branches
    got = complete('ugitfs', ['ugitfs', fx.path, '/mnt', '-o', 'ro,branch='])
    assert sorted(got) == sorted('ro,branch=' + b for b in branches)


def test_ugitfs_completes_mount_points_for_sync_and_status(repos):
    fx = repos.get('packed')
    with Mount(fx.path) as m:
        real = os.path.realpath(m.mnt)
        assert real in complete('ugitfs', ['ugitfs', '--status', ''])
        assert complete('ugitfs', ['ugitfs', '--sync', real[:-2]]) == [real]
        assert complete('ugitfs', ['ugitfs', '--sync', '-']) == ['-m']
    assert real not in complete('ugitfs', ['ugitfs', '--status', ''])


def test_ugit_completes_commands_and_refs(tmp_path):
    def ugit(*args):
        subprocess.run([UGIT, *args], cwd=tmp_path, check=True, capture_output=True)
    ugit('init')
    (tmp_path / 'a').write_text('a\n')
    ugit('add', 'a')
    ugit('commit', '-m', 'first')
    ugit('branch', 'topic')
    ugit('branch', 'feature/x')
    ugit('tag', 'v1')
    assert complete('ugit', ['ugit', 'me']) == ['merge', 'merge-base']
    assert sorted(complete('ugit', ['ugit', 'checkout', ''], cwd=tmp_path)) == \
        sorted(['master', 'topic', 'feature/x', 'v1', '@'])
    assert complete('ugit', ['ugit', 'checkout', 'fe'], cwd=tmp_path) == ['feature/x']
    assert complete('ugit', ['ugit', 'merge', '--f'], cwd=tmp_path) == ['--force']
    assert complete('ugit', ['ugit', 'branch', 'new'], cwd=tmp_path) == []  # a new name is the user's
    assert 'topic' in complete('ugit', ['ugit', 'branch', 'new', ''], cwd=tmp_path)


def test_ugit_completes_git_refs(repos):
    fx = repos.get('tags')
    names = subprocess.run(['git', 'for-each-ref', '--format=%(refname:short)', 'refs/heads', 'refs/tags'],
                           cwd=fx.workdir, capture_output=True, text=True, check=True).stdout.split()
    assert names
    assert sorted(complete('ugit', ['ugit', 'log', ''], cwd=fx.workdir)) == sorted(names + ['@'])


def systemd_escape_path(path):
    """What `systemd-escape -p` makes of an absolute path (enough for the ASCII paths used here)."""
    parts = [p for p in path.split('/') if p]
    out = []
    for part in parts:
        esc = ''.join(c if c.isalnum() or c in ':_' or (c == '.' and i) else '\\x%02x' % ord(c)
                      for i, c in enumerate(part))
        out.append(esc)
    return '-'.join(out)


def read_unit(name):
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=('=',),
                                       comment_prefixes=('#', ';'))
    parser.optionxform = str  # keys are case-sensitive
    with open(os.path.join(UNITS, name)) as f:
        parser.read_file(f)
    return parser


def fstab_lines(name):
    """The fstab equivalents that a unit file's comments give, split into fields."""
    with open(os.path.join(UNITS, name)) as f:
        return [line.lstrip('#').split() for line in f if 'fuse.ugitfs' in line and line.lstrip('#').strip()
                .startswith('/')]


def test_systemd_units_parse():
    """The example units are well-formed with the keys systemd requires; systemd-analyze agrees where installed."""
    mount, auto = 'srv-ugitfs-project.mount', 'srv-ugitfs-project.automount'
    m = read_unit(mount)
    assert set(m.sections()) == {'Unit', 'Mount', 'Install'}
    assert m['Mount']['Type'] == 'fuse.ugitfs'
    assert 'ro' in m['Mount']['Options'].split(',')
    assert os.path.isabs(m['Mount']['What'])
    where = m['Mount']['Where']
    assert systemd_escape_path(where) + '.mount' == mount  # systemd refuses a unit named otherwise
    a = read_unit(auto)
    assert set(a.sections()) == {'Unit', 'Automount', 'Install'}
    assert a['Automount']['Where'] == where
    assert int(a['Automount']['TimeoutIdleSec']) > 0
    for unit in (mount, auto):
        lines = fstab_lines(unit)
        assert len(lines) == 1 and len(lines[0]) == 6, lines
        assert lines[0][:3] == [m['Mount']['What'], where, 'fuse.ugitfs'], lines
    tool = shutil.which('systemd-analyze')
    if tool:
        p = subprocess.run([tool, 'verify', '--man=no', os.path.join(UNITS, mount), os.path.join(UNITS, auto)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and p.stderr.strip() == '', p.stderr


def test_fstab_options_of_the_examples_are_accepted(repos):
    """ugitfs takes the examples' fstab options as they stand: x-systemd.* and nofail are ignored, ro holds."""
    fx = repos.get('packed')
    opts = fstab_lines('srv-ugitfs-project.automount')[0][3]
    assert 'x-systemd.automount' in opts
    if os.geteuid() != 0:  # allow_other needs user_allow_other in /etc/fuse.conf otherwise
        opts = ','.join(o for o in opts.split(',') if o != 'allow_other')
    with Mount(fx.path, [opts]) as m:
        assert sorted(os.listdir(m.mnt)) == ['HEAD', 'branches', 'commits', 'log', 'tags', 'versions']
        with pytest.raises(OSError):
            open(m.path('HEAD', 'new'), 'w')


def test_readme_links_resolve_inside_the_repository():
    """Every relative link of README.md names a file of the project; none leaves it."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        text = f.read()
    links = re.findall(r'\]\(([^)\s]+)\)', text)
    assert links
    for link in links:
        if re.match(r'[a-z]+:', link):
            continue
        path = os.path.normpath(os.path.join(ROOT, link.split('#')[0]))
        assert path.startswith(ROOT + os.sep), link
        assert os.path.exists(path), link


def test_nothing_points_outside_the_repository():
    """No file of the project refers to the folder of notes outside it (the contract lives in ugitfs(1))."""
    words = ['shar' + 'ed/', 'SP' + 'EC.md', 'SP' + 'EC section']  # split, so that this file does not match
    args = ['grep', '-rnI', '--exclude-dir=.git', '--exclude-dir=build*', '--exclude-dir=obj-*']
    for w in words:
        args += ['-e', w]
    p = subprocess.run(args + ['.'], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stdout == '', p.stdout + p.stderr
