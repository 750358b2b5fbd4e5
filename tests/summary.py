"""Count single checks of a `meson test` run: TAP lines of the unit tests, test cases of the
pytest modules. A skipped check counts as failed; a test program that crashed or timed out
counts one failure more than its report shows. Prints "N passed, N failed"; exit 1 on failures."""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def tap_counts(stdout):
    ok = len(re.findall(r'^ok \d+', stdout, re.M))
    not_ok = len(re.findall(r'^not ok \d+', stdout, re.M))
    skipped = len(re.findall(r'^ok \d+.*# *SKIP', stdout, re.M | re.I))
    return ok - skipped, not_ok + skipped


def junit_counts(path):
    passed = failed = 0
    for case in ET.parse(path).getroot().iter('testcase'):
        if any(child.tag in ('failure', 'error', 'skipped') for child in case):
            failed += 1
        else:
            passed += 1
    return passed, failed


def main(builddir):
    log = os.path.join(builddir, 'meson-logs', 'testlog.json')
    passed = failed = 0
    with open(log) as f:
        tests = [json.loads(line) for line in f if line.strip()]
    for t in tests:
        name, result = t['name'].split(' / ')[-1], t['result']  # "ugitfs:suite / NAME"
        junit = os.path.join(builddir, 'tests', 'junit', name + '.xml')
        if os.path.exists(junit):
            p, q = junit_counts(junit)
        else:
            p, q = tap_counts(t.get('stdout') or '')
        if result not in ('OK', 'EXPECTEDFAIL') and q == 0:
            q = 1  # crashed, timed out, or failed without saying which check
        if p + q == 0:
            q = 1  # a test that checked nothing
        passed += p
        failed += q
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'build'))
