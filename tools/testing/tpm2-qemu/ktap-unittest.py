#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""ktap-unittest DIR MODULE CLASS...

Run the unittest test cases of MODULE.CLASS (MODULE imported from DIR) and
print KTAP, one result per test case, so that check.sh counts upstream's
python tpm2 selftests with the same parser as every other suite. Exits
non-zero when a case failed.
"""

import importlib
import sys
import traceback
import unittest


class KtapResult(unittest.TestResult):
    """Prints "ok N name" or "not ok N name" as each case ends."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self.counts = {'pass': 0, 'fail': 0, 'skip': 0}

    def _report(self, test, ok, directive='', err=None):
        self.number += 1
        self.counts['skip' if directive else 'pass' if ok else 'fail'] += 1
        if err is not None:
            for line in ''.join(traceback.format_exception(*err)).splitlines():
                print('# ' + line)
        name = getattr(test, '_testMethodName', str(test))
        print(f"{'ok' if ok else 'not ok'} {self.number} {name}{directive}",
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._report(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._report(test, False, err=err)

    def addError(self, test, err):
        super().addError(test, err)
        self._report(test, False, err=err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._report(test, True, f' # SKIP {reason}')

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._report(test, True)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._report(test, False)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sys.path.insert(0, sys.argv[1])
    module = importlib.import_module(sys.argv[2])
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(getattr(module, c))
                               for c in sys.argv[3:])
    print('KTAP version 1')
    print(f'1..{suite.countTestCases()}', flush=True)
    result = KtapResult()
    suite.run(result)
    print('# Totals: ' + ' '.join(f'{k}:{v}' for k, v in result.counts.items()))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
