// The demo, in process with fewer users: shares match the rules' percents before and after the
// edit, they move with the edit, nothing fails, and everything it started is gone afterwards.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { DEFAULT_NEW_PERCENTS, runDemo, type RoundReport } from '../../src/demo/main.js';

const TOLERANCE_POINTS = 4;

function share(r: RoundReport, cell: string): number {
  return r.cells.find((c) => c.cell === cell)!.sharePercent;
}

describe('npm run demo', () => {
  it('shows the shares per cell follow the rules, and move after a rule edit without restart', async () => {
    const lines: string[] = [];
    const report = await runDemo({ users: 1000, concurrency: 32, testRequests: 10, print: (l) => lines.push(l) });

    const configured = { control: 50, 'treatment-a': 25, 'treatment-b': 25 };
    for (const [cell, percent] of Object.entries(configured)) {
      expect(report.before.cells.find((c) => c.cell === cell)!.configuredPercent).toBe(percent);
      expect(Math.abs(share(report.before, cell) - percent)).toBeLessThan(TOLERANCE_POINTS);
    }
    for (const [cell, percent] of Object.entries(DEFAULT_NEW_PERCENTS)) {
      expect(report.after.cells.find((c) => c.cell === cell)!.configuredPercent).toBe(percent);
      expect(Math.abs(share(report.after, cell) - percent)).toBeLessThan(TOLERANCE_POINTS);
    }
    // The shares moved with the edit: 50 -> 20 and 25 -> 50.
    expect(share(report.before, 'control') - share(report.after, 'control')).toBeGreaterThan(20);
    expect(share(report.after, 'treatment-b') - share(report.before, 'treatment-b')).toBeGreaterThan(20);
    // Users move only as far as the ranges did: [2000, 7500) of 10,000 buckets changed model.
    expect(Math.abs((100 * report.movedUsers) / 1000 - 55)).toBeLessThan(TOLERANCE_POINTS + 1);

    for (const round of [report.before, report.after]) {
      expect(round.users).toBe(1000);
      expect(round.failures).toBe(0);
      expect(round.mismatches).toBe(0);
      // Real traffic is served by the model of each user's cell; test traffic is apart.
      expect(Object.values(round.models).reduce((a, b) => a + b, 0)).toBe(1000);
      for (const c of round.cells) expect(round.models[c.model] ?? 0).toBe(c.users);
      expect(round.testTraffic).toEqual({ 'cw-ranker-v3': 10 });
    }
    expect(report.edit.tableVersionAfter).not.toBe(report.edit.tableVersionBefore);
    expect(report.after.tableVersion).toBe(report.edit.tableVersionAfter);
    expect(report.edit.convergedMs).toBeGreaterThanOrEqual(report.edit.tableMs);

    // It printed progress and both tables, and removed its temp dir.
    expect(lines.some((l) => l.startsWith('[7/7]'))).toBe(true);
    expect(lines.filter((l) => /users served/.test(l)).length).toBeGreaterThanOrEqual(8);
    const workDir = /Copied the rules to (\S+)\/rules/.exec(lines[0]!)?.[1];
    expect(workDir).toBeTruthy();
    expect(existsSync(workDir!)).toBe(false);
  });
});
