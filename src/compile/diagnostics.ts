// Collects every compile problem in one pass (not only the first) and throws them together.
import { AggregateSwitchyardError, SwitchyardError, type ErrorCode } from '../errors/catalog.js';
import type { SourceLocation } from '../rules/model.js';

export function formatLoc(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.column}` : '<unknown>';
}

export class Diagnostics {
  private readonly errors: SwitchyardError[] = [];

  /** Records a problem found at `loc` (the rule or field that causes it). */
  error(code: ErrorCode, loc: SourceLocation | undefined, detail: string): void {
    this.errors.push(new SwitchyardError(code, `${formatLoc(loc)}: ${detail}`));
  }

  get count(): number {
    return this.errors.length;
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new AggregateSwitchyardError([...this.errors]);
  }
}
