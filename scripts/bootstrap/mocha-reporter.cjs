// Mocha reporter for every workspace: the spec reporter's output, plus one JSON line of counts
// appended to $EMPORIUM_TEST_SUMMARY so `npm test` can close with a total across workspaces.
'use strict';
const { appendFileSync } = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.EMPORIUM_TEST_SUMMARY;
      if (!file) return;
      const { passes, failures, pending } = this.stats;
      const line = { workspace: process.cwd(), passed: passes, failed: failures, skipped: pending };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    });
  }
}

module.exports = SummaryReporter;
