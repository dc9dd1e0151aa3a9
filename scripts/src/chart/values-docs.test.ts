import assert from 'node:assert/strict';
import { valueDocs, valuesTable } from './values-docs.js';

describe('valueDocs', () => {
  const values = [
    '# yaml-language-server: $schema=values.schema.json',
    '',
    '# -- The mode: `a|b`.',
    'mode: a',
    '# -- A group.',
    'group:',
    '  # -- Its first value,',
    '  # continued on a second line.',
    '  first: 1',
    '  # a plain comment, not a description',
    '  # -- Labels, one value.',
    '  labels: { app: x }',
    '  # -- A list.',
    '  list: []',
    '',
  ].join('\n');

  it('reads every key with its `# --` description, type and default, a flow map as one value', () => {
    assert.deepEqual(valueDocs(values), [
      { key: 'mode', type: 'string', default: '`"a"`', description: 'The mode: `a|b`.' },
      { key: 'group', type: 'object', default: '', description: 'A group.' },
      {
        key: 'group.first',
        type: 'int',
        default: '`1`',
        description: 'Its first value, continued on a second line.',
      },
      {
        key: 'group.labels',
        type: 'object',
        default: '`{"app":"x"}`',
        description: 'Labels, one value.',
      },
      { key: 'group.list', type: 'list', default: '`[]`', description: 'A list.' },
    ]);
  });

  it('names every key without a description', () => {
    assert.throws(
      () => valueDocs('# -- documented\na: 1\nb:\n  c: 2\n'),
      /no "# --" comment on b, b\.c/,
    );
  });

  it('escapes pipes in the Markdown table', () => {
    assert.match(valuesTable(values), /\| `mode` \| string \| `"a"` \| The mode: `a\\\|b`\. \|/);
  });
});
