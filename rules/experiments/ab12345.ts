// A/B test 12345, written the way the published design's researchers write rules: a function
// named define<Something>Rule returning the experiment in its own shape. Switchyard reads this
// shape as an Experiment (no `kind` needed). Keep it plain data: the module runs in a sandboxed
// worker with a 2-second limit, and only what it returns is used.

interface CellTarget {
  model: string;
  percent: number;
}

interface ABRule {
  abTestId: number;
  targetObjectives: string[];
  cellToModel: Record<string, CellTarget>;
  modelType: string;
  modelInputType: string;
}

export function defineAB12345Rule(): ABRule {
  return {
    abTestId: 12345,
    targetObjectives: ['ContinueWatchingRanking'],
    cellToModel: {
      control: { model: 'cw-ranker-v1', percent: 50 },
      'treatment-a': { model: 'cw-ranker-v2', percent: 25 },
      'treatment-b': { model: 'cw-ranker-v3', percent: 25 },
    },
    modelType: 'ranker',
    modelInputType: 'member-context',
  };
}
