// `switchyard check`: exit code and output.
import { describe, it, expect } from 'vitest';
import { runCheck } from '../../src/cli/check.js';
import { expectGolden, fixtureDir, SHIPPED_RULES } from './helpers.js';

function capture(): { out: { stdout: { write(s: string): void }; stderr: { write(s: string): void } }; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return {
    out: { stdout: { write: (s) => void (o += s) }, stderr: { write: (s) => void (e += s) } },
    stdout: () => o,
    stderr: () => e,
  };
}

describe('runCheck', () => {
  it('prints a summary and returns 0 for the shipped rules', async () => {
    const c = capture();
    expect(await runCheck(SHIPPED_RULES, c.out)).toBe(0);
    expect(c.stderr()).toBe('');
    expect(c.stdout().replace(SHIPPED_RULES, 'rules')).toBe(
      'rules: OK, 23 rules in 6 files (3 Objective, 7 Model, 4 Shard, 1 Experiment, 1 TrafficShift, 1 Migration, 1 Shadow, 2 Override, 3 Client).\n',
    );
  });

  it('prints every error and a count, and returns 1', async () => {
    const dir = await fixtureDir('base', 'references', 'shifts');
    const c = capture();
    expect(await runCheck(dir, c.out)).toBe(1);
    expect(c.stdout()).toBe('');
    await expectGolden('check-output', c.stderr().split(dir).join('rules'));
  });
});
