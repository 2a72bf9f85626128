import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** A package (node_modules), a file of ours (dist/src, or dist-bench/ for the bench's own), or undefined for Node/V8 frames. */
function owner(frame: CallFrame): string | undefined {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1] as string;
  const ours = /\/dist(?:-bench)?\/((?:src|bench|support)\/.*)\.js$/.exec(frame.url);
  return ours ? (ours[1] as string) : undefined;
}

const where = (frame: CallFrame) => (frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist(?:-bench)?\//, '').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}` : '');
const fnName = (frame: CallFrame) => frame.functionName || '(anonymous)';

/**
 * What a CPU profile (--cpu-prof format) says, in about 50 lines: self time by function (native
 * leaves named with their JS caller), self time charged to the nearest package or file of ours on
 * the stack (so a native call counts against whoever made it), and inclusive time of our own
 * functions (dist/src), which says which service path the time belongs to.
 */
export function summarizeProfile(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const selfFn = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const inclusiveOurs = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, dt: number) => map.set(key, (map.get(key) ?? 0) + dt);
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = nodes.get(id);
    if (!node) return;
    total += dt;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const callerId = parent.get(id);
    const caller = callerId === undefined ? undefined : nodes.get(callerId)?.callFrame;
    const native = !frame.url && !frame.functionName.startsWith('(');
    add(selfFn, native && caller ? `${fnName(frame)} ← ${fnName(caller)}  ${where(caller)}` : `${fnName(frame)}  ${where(frame)}`, dt);
    let responsible: string | undefined;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = (nodes.get(cur) as { callFrame: CallFrame }).callFrame;
      const o = owner(f);
      responsible ??= o;
      if (o?.startsWith('src/')) {
        const key = `${fnName(f)}  ${where(f)}`;
        if (!seen.has(key)) {
          seen.add(key);
          add(inclusiveOurs, key, dt);
        }
      }
    }
    add(byOwner, responsible ?? (frame.functionName.startsWith('(') ? frame.functionName : 'node (no package on the stack)'), dt);
  });
  const busy = total - idle;
  const pct = (ms: number) => `${((100 * ms) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => `  ${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
  return [
    `window ${total.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (${((100 * busy) / Math.max(total, 1e-9)).toFixed(0)}%); shares are of busy time`,
    '',
    'self time charged to the nearest package / file of ours on the stack:',
    ...list(byOwner, 12),
    '',
    'self time by function (native leaves named with their caller):',
    ...list(selfFn, top),
    '',
    'inclusive time of our functions (dist/src):',
    ...list(inclusiveOurs, 12),
  ].join('\n');
}
