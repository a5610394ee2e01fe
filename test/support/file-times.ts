/**
 * Where `npm test`'s wall time goes: mocha --parallel schedules by FILE, so the longest files and the order they
 * start in set the run's length, and neither mocha's reporters nor the tests' own durations (hooks left out) show
 * a file's time. Loaded with `--require`, these root hooks (run once per file in parallel mode) append one JSON line
 * per file — its wall time, hooks included, the sum of its tests' durations, the worker's pid, when it ended — to
 * $BYNINJA_FILE_TIMES; run alone (`node dist/test/support/file-times.js <that file>`) it prints the longest files
 * and each worker's busy time:
 *
 *   npm run build && BYNINJA_FILE_TIMES=/tmp/times.jsonl npx mocha --parallel --jobs 4 \
 *     --require dist/test/support/file-times.js <the spec of package.json's test script>
 *   node dist/test/support/file-times.js /tmp/times.jsonl
 *
 * Not part of `npm test`: a measuring tool.
 */
import fs from 'node:fs';

interface FileTime {
  file: string;
  ms: number;
  testMs: number;
  pid: number;
  end: number;
}

let start = 0;
let testMs = 0;

export const mochaHooks = {
  beforeAll(): void {
    start = Date.now();
    testMs = 0;
  },
  afterEach(this: Mocha.Context): void {
    testMs += this.currentTest?.duration ?? 0;
  },
  afterAll(this: Mocha.Context): void {
    const out = process.env.BYNINJA_FILE_TIMES;
    const root = this.test?.parent;
    if (!out || !root) return;
    const files = new Set<string>();
    const walk = (suite: Mocha.Suite): void => {
      if (suite.file) files.add(suite.file);
      suite.suites.forEach(walk);
    };
    walk(root);
    const end = Date.now();
    const line: FileTime = { file: [...files].join(','), ms: end - start, testMs, pid: process.pid, end };
    fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
  },
};

/** A compiled test file's path from `test/` on (whichever build directory it ran from). */
const shortName = (file: string): string => file.replace(/^.*[/\\]dist[^/\\]*[/\\]/, '');

function summary(file: string): string {
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FileTime);
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const first = Math.min(...rows.map((r) => r.end - r.ms));
  const lines = [
    `${rows.length} files; their wall times add up to ${s(rows.reduce((t, r) => t + r.ms, 0))}, ` +
      `their tests' durations to ${s(rows.reduce((t, r) => t + r.testMs, 0))}`,
    'longest files (wall, tests, started at):',
    ...[...rows]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 15)
      .map(
        (r) =>
          `  ${s(r.ms).padStart(8)} ${s(r.testMs).padStart(8)} ${s(r.end - r.ms - first).padStart(8)}  ${shortName(r.file)}`,
      ),
    'workers (busy, last file ended at):',
  ];
  const byPid = new Map<number, FileTime[]>();
  for (const r of rows) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
  for (const [pid, mine] of byPid) {
    const busy = mine.reduce((t, r) => t + r.ms, 0);
    const last = Math.max(...mine.map((r) => r.end)) - first;
    lines.push(`  ${pid}: ${mine.length} files, busy ${s(busy)}, done at ${s(last)}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/test/support/file-times.js <BYNINJA_FILE_TIMES file>\n');
    process.exit(2);
  }
  process.stdout.write(`${summary(file)}\n`);
}
