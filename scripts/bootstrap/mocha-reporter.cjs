// Mocha reporter for every workspace: the spec reporter's output, plus one JSON line of counts
// and failures appended to $EMPORIUM_TEST_SUMMARY, so `npm test` can close with a total across
// workspaces and repeat each failure at its very end (a CI log is often read from its tail).
'use strict';
const { appendFileSync } = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failed = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, error) => {
      const message = String(error?.message ?? error)
        .split('\n')
        .slice(0, 6)
        .join('\n');
      failed.push({ title: test.fullTitle(), message });
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.EMPORIUM_TEST_SUMMARY;
      if (!file) return;
      const { passes, failures, pending } = this.stats;
      const line = {
        workspace: process.cwd(),
        passed: passes,
        failed: failures,
        skipped: pending,
        failures: failed,
      };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    });
  }
}

module.exports = SummaryReporter;
