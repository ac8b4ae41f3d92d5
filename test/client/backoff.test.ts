import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';

describe('Backoff', () => {
  it('doubles from initialMs up to maxMs without jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(b.attempts).toBe(7);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('jitters within ±jitter and never exceeds maxMs', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0.999999 });
    expect([low.next(), low.next(), low.next(), low.next(), low.next()]).toEqual([80, 160, 320, 640, 800]);
    expect([high.next(), high.next(), high.next(), high.next(), high.next()]).toEqual([120, 240, 480, 960, 1000]);
    const random = new Backoff({ initialMs: 50, maxMs: 400 });
    for (let i = 0; i < 200; i++) {
      const d = random.next();
      expect(d).toBeGreaterThanOrEqual(40);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it('refuses nonsense settings', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => new Backoff({ multiplier: 0.5 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: 2 })).toThrow(RangeError);
  });
});
