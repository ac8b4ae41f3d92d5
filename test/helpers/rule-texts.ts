// Rule files written by tests: two shards on real backend ports, two ranking models, and an
// objective whose default model decides where calls go.

export interface RankingRuleOptions {
  /** Load balancing of shard-a (LEAST_REQUEST proves proxyless clients accept it). */
  shardALbPolicy?: 'ROUND_ROBIN' | 'LEAST_REQUEST';
  /** Mirror this share of Ranking's traffic to ranker-v2 (a Shadow). */
  shadowPercent?: number;
}

export function rankingRules(ports: { a: number; b: number }, defaultModel: string, opts: RankingRuleOptions = {}): string {
  const shadow =
    opts.shadowPercent === undefined
      ? ''
      : `---
kind: Shadow
name: ranker-v2-shadow
objective: Ranking
model: ranker-v2
percent: ${opts.shadowPercent}
`;
  return `kind: Shard
name: shard-a
${opts.shardALbPolicy ? `lbPolicy: ${opts.shardALbPolicy}\n` : ''}endpoints:
  - { address: 127.0.0.1, port: ${ports.a}, zone: local }
---
kind: Shard
name: shard-b
endpoints:
  - { address: 127.0.0.1, port: ${ports.b}, zone: local }
---
kind: Model
name: ranker-v1
shard: shard-a
version: "1.0.0"
---
kind: Model
name: ranker-v2
shard: shard-b
version: "2.0.0"
---
kind: Objective
name: Ranking
defaultModel: ${defaultModel}
timeoutMs: 500
retries: 0
${shadow}`;
}
