/** The rehearsal's report (Markdown) and chart (SVG, drawn here: no dependency). */
import os from 'node:os';
import { maxOf, minOf, percentile, pushCauses } from './analyse';
import type { RehearsalRun } from './run';

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : '–');
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : '–');
const mark = (ok: boolean) => (ok ? '✅' : '❌');
const spread = (values: number[], unit = 's') => (values.length ? `median ${f1(percentile(values, 50))} ${unit}, max ${f1(maxOf(values))} ${unit} (n = ${values.length})` : 'none');

/** Waiting, active, seats left and sold over time (left axis: people/seats), push lag dots (right axis, ms). */
export function renderChart(run: RehearsalRun): string {
  const W = 900;
  const H = 420;
  const pad = { l: 60, r: 70, t: 40, b: 50 };
  const samples = run.samples.filter((s) => Number.isFinite(s.seatsLeft));
  const t0 = minOf([-run.options.preOpenSeconds * 1000, ...samples.map((s) => s.t)]);
  const t1 = maxOf([1000, ...samples.map((s) => s.t)]);
  const yMax = maxOf([10, ...samples.flatMap((s) => [s.waiting, s.active, s.seatsLeft, s.sold])]);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / yMax) * (H - pad.t - pad.b);
  // Push lag per tick: the slowest push a tick caused, sampled to at most 300 dots.
  const worst = new Map<number, number>();
  for (const [tick, lag] of pushCauses(run).tickLags) worst.set(tick, Math.max(worst.get(tick) ?? 0, lag));
  const lagMax = maxOf([100, ...worst.values()]);
  const yLag = (v: number) => H - pad.b - (v / lagMax) * (H - pad.t - pad.b);
  const series: [string, string, (s: (typeof samples)[number]) => number][] = [
    ['waiting', '#1f77b4', (s) => s.waiting],
    ['active', '#2ca02c', (s) => s.active],
    ['seats left', '#ff7f0e', (s) => s.seatsLeft],
    ['sold', '#d62728', (s) => s.sold],
  ];
  const lines = series.map(([, color, value]) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${samples.map((s) => `${x(s.t).toFixed(1)},${y(value(s)).toFixed(1)}`).join(' ')}"/>`);
  const dots = [...worst].filter((_, i, all) => all.length <= 300 || i % Math.ceil(all.length / 300) === 0).map(([tick, lag]) => `<circle cx="${x(tick - run.openAt).toFixed(1)}" cy="${yLag(lag).toFixed(1)}" r="1.8" fill="#9467bd"/>`);
  const axis: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    axis.push(`<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text><line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    const l = (lagMax * i) / 5;
    axis.push(`<text x="${W - pad.r + 6}" y="${yLag(l) + 4}" fill="#9467bd">${Math.round(l)} ms</text>`);
  }
  const step = Math.max(1, Math.ceil((t1 - t0) / 1000 / 12));
  for (let s = Math.ceil(t0 / 1000 / step) * step; s <= t1 / 1000; s += step) axis.push(`<text x="${x(s * 1000)}" y="${H - pad.b + 18}" text-anchor="middle">${s}</text>`);
  const legend = [...series.map(([name, color], i) => `<rect x="${pad.l + i * 120}" y="12" width="14" height="4" fill="${color}"/><text x="${pad.l + i * 120 + 18}" y="18">${name}</text>`), `<circle cx="${pad.l + 487}" cy="14" r="3" fill="#9467bd"/><text x="${pad.l + 495}" y="18">push lag after a tick (worst fan, right axis)</text>`];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
${axis.join('\n')}
<line x1="${x(0)}" x2="${x(0)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#888" stroke-dasharray="4 3"/><text x="${x(0) + 4}" y="${pad.t + 10}" fill="#555">sales open</text>
${lines.join('\n')}
${dots.join('\n')}
<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#333"/>
<text x="${(W - pad.r + pad.l) / 2}" y="${H - 12}" text-anchor="middle">seconds from salesOpenAt</text>
${legend.join('\n')}
</svg>
`;
}

export function renderReport(run: RehearsalRun, chart: string): string {
  const { options: o, analysis: a, integrity: i } = run;
  const fair = a.fairness;
  const s = a.sellOut;
  const x = a.experience;
  const goals = [
    ['0 inversions among present post-opening arrivals', fair.inversions === 0, `${fair.inversions} of ${fair.comparablePairs} ordered pairs`],
    ['every present pre-queue fan admitted before every later arrival', fair.prequeueOvertaken === 0, `${fair.prequeueOvertaken} overtakings`],
    ['nobody present lost their place', fair.lostPlace === 0, `${fair.lostPlace} fan(s)`],
    ['slot use ≥ 95% (ACTIVE slot-seconds held by present fans)', a.slots.presentShare >= 0.95, pct(a.slots.presentShare)],
    ['sold out within 1.2× the ideal', s.ratio <= 1.2, s.soldOutAfter === null ? 'not sold out' : `${f1(s.soldOutAfter)} s vs ${f1(s.idealSeconds)} s (${f2(s.ratio)}×)`],
    ['SOLD_OUT delivered to every fan still waiting', s.soldOutAfter !== null && s.soldOutMissed === 0, `${s.soldOutDelivered} told, ${s.soldOutMissed} missed`],
    ['integrity (all checks below)', i.ok, `${i.checks.filter((c) => c.ok).length}/${i.checks.length}`],
    ['push lag p99 < 1 s', x.pushLagMs.p99 < 1000, ms(x.pushLagMs.p99)],
    ['no INTERNAL_SERVER_ERROR', x.internalErrors === 0, String(x.internalErrors)],
    ['no honest fan refused by a limit (RATE_LIMITED)', x.rateLimitedHonest === 0, String(x.rateLimitedHonest)],
  ] as const;
  const out: string[] = [];
  out.push(`# On-sale rehearsal: ${o.fans.toLocaleString('en')} fans, ${o.seats.toLocaleString('en')} seats, capacity ${o.capacity}, ${o.replicas} replica(s), seed ${o.seed}`);
  out.push('');
  out.push(`Run ${new Date(run.openAt).toISOString()} on ${os.cpus()[0]?.model ?? '?'} × ${os.availableParallelism()} (shared with other work), Node ${process.version}. Produced by \`npm run rehearse\` (bench/rehearsal/).`);
  out.push('');
  out.push(`![waiting, active, seats left and sold over time, with push lag](${chart})`);
  out.push('');
  out.push('## Goals');
  out.push('');
  out.push('| goal | met | measured |');
  out.push('| --- | --- | --- |');
  for (const [goal, ok, measured] of goals) out.push(`| ${goal} | ${mark(ok)} | ${measured} |`);
  out.push('');
  out.push('## Setup');
  out.push('');
  out.push(`- ${o.replicas} replica(s) of \`node dist/src/main.js\` (replica-0 runs the workers), MariaDB + ${o.cluster ? "a local Redis Cluster (3 masters, 3 replicas: test/support/redis-cluster.sh)" : "Redis"} on loopback, database \`${new URL(run.sandbox.DATABASE_URL).pathname.slice(1)}\`, Redis prefix \`${run.sandbox.REDIS_KEY_PREFIX}\`. ADMISSION_INTERVAL_MS=${o.admissionIntervalMs}, HOLD_TTL_SECONDS=${o.holdTtlSeconds}, ACTIVE_TTL_SECONDS=${o.activeTtlSeconds}, PRESENCE_GRACE_SECONDS=${o.presenceGraceSeconds}, ACTIVE_IDLE_SECONDS=${o.activeIdleSeconds}; limits at their production defaults (600/min per account, 1,200/min per IP, 5 sockets per account) with TRUST_PROXY=true: every fan sends its own X-Forwarded-For address.`);
  out.push(`- Fans played from ${o.workers > 0 ? `${o.workers} worker processes` : 'the calling process'} over HTTP (\`node:http\`, one keep-alive pool per process, as a proxy would hold) and each fan's own graphql-ws socket (\`ws\`, the graphql-transport-ws protocol spoken directly). Mix (seeded): ${pct(o.prequeueShare)} enter during the ${o.preOpenSeconds} s before opening (pre-queue), the rest arrive in a burst after it that peaks at ${o.arrivalsPerSecond.toLocaleString('en')} a second at the opening and tails off (exponential delays, mean ${f1((o.fans * (1 - o.prequeueShare)) / o.arrivalsPerSecond)} s); ${pct(o.giveUpShare)} give up while waiting (close the socket, never return), ${pct(o.dropShare)} drop the socket and come back within the grace; admitted fans read the seat map and hold 1–4 seats, each picked from the best (lowest-numbered) tenth of the free ones, at least 4, retrying on SEAT_UNAVAILABLE and reading the map again after 3 lost races in a row; ${pct(o.lapseShare)} leave and let their holds lapse, ${pct(o.walkAwayShare)} walk away while ACTIVE; buyers charge points and pay (${pct(o.underfundedShare)} first short → INSUFFICIENT_POINTS → charge → retry with the same key, ${pct(o.doubleSubmitShare)} send the same payment twice at once), ${pct(o.cancelShare)} cancel a ticket 0.5–2 s later. Think time ${o.thinkMs[0]}–${o.thinkMs[1]} ms per step.`);
  out.push(`- Outcomes: ${Object.entries(a.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  out.push('');
  out.push('## Fairness');
  out.push('');
  out.push(`- A fan counts as present unless it gave up; fans the line dropped while they were present (below) count as present and never admitted, so each such drop shows as inversions too.`);
  out.push(`- Present post-opening arrivals: ${fair.postArrivalsPresent} (${fair.postAdmitted} admitted). Inversions: **${fair.inversions}** of ${fair.comparablePairs} pairs where one fan had finished entering before the other started (admission order read from each fan's \`activeUntil\`, which one tick gives all its admissions alike).`);
  out.push(`- Pre-queue: ${fair.prequeuePresent} present, ${fair.prequeueAdmitted} admitted; later arrivals admitted before a present pre-queue fan: **${fair.prequeueOvertaken}**.`);
  out.push(`- The draw: Spearman's ρ between pre-queue entry order and drawn order = **${f2(fair.drawCorrelation)}** over ${fair.drawSample} fans (independent draw: ρ ≈ 0, |ρ| mostly below ${f2(2 / Math.sqrt(Math.max(fair.drawSample - 1, 1)))} at this size).`);
  out.push(`- Fans the line dropped while present: ${fair.lostPlace}. Fans pushed a NONE while waiting who were still in line when they asked (\`queueStatus\` over HTTP, as a page reload would): ${fair.staleNone}${fair.staleNone ? ' — a stale push: a status computed before the fan entered, sent after the one its entry caused (a tick\'s refresh and the fan\'s own overlap on a replica, src/queue/live-status.ts)' : ''}.`);
  if (fair.lostPlace > 0) {
    out.push(`- Leaving them out: **${fair.inversionsWithoutDropped}** inversions and **${fair.overtakenWithoutDropped}** overtakings${fair.inversionsWithoutDropped + fair.overtakenWithoutDropped === 0 ? ': every one above comes from the presence rule dropping fans it could not see, none from the order itself' : ''}.`);
    const reconnect = x.ops.find((op) => op.op === 'ws connect');
    out.push(`- Why they were dropped: ${fair.lostWhileReconnecting} of them had dropped their socket and were reconnecting, and the new one was not live (reporting them) within PRESENCE_GRACE_SECONDS=${o.presenceGraceSeconds} of their last sign of presence (a socket took p50 ${ms(reconnect?.p50 ?? NaN)}, p99 ${ms(reconnect?.p99 ?? NaN)} to open in this run); the others stayed connected (see the CPU profiles and the latencies below).`);
  }
  out.push('');
  out.push('## Slot use');
  out.push('');
  out.push(`- ACTIVE slot-seconds (sampled every ${run.sampleIntervalMs} ms from Redis): ${f1(a.slots.slotSeconds)}; held by fans who were present: **${pct(a.slots.presentShare)}**. A fan is absent from the moment it closed its socket for good (walked away, gave up, or paid and left).`);
  out.push(`- Slot-seconds held by absent fans, by what they did: ${byOutcome(a.slots.absentByOutcome)}. A fan who gave up less than PRESENCE_GRACE_SECONDS before its turn is admitted all the same (the line cannot tell a closed tab from a slow or dropped socket until the grace is over), and it, like a fan who walks away while ACTIVE, keeps the slot until ACTIVE_IDLE_SECONDS have passed.`);
  out.push(`- Slot-seconds held by present fans, by what they went on to do: ${byOutcome(a.slots.presentByOutcome)}.`);
  out.push(`- Slots filled while fans waited and seats were free: **${pct(a.slots.fill)}** of what admission could fill on average (the capacity, or fewer when fewer seats were left; a slot freed by a payment or a departure stays empty until the next tick, every ADMISSION_INTERVAL_MS=${o.admissionIntervalMs}).`);
  out.push(`- Line forgetting a fan who walked away while ACTIVE: ${spread(a.slots.forgetActive)} (ACTIVE_IDLE_SECONDS=${o.activeIdleSeconds}).`);
  out.push(`- Line forgetting a fan who gave up while waiting: ${spread(a.slots.forgetWaiting)} (PRESENCE_GRACE_SECONDS=${o.presenceGraceSeconds}; 0 when admission or the sell-out took them first).`);
  // Past the grace, a tick (1 s) and a sample (0.25 s) with room to spare: the line kept a fan who had gone.
  const late = a.slots.forgetWaiting.filter((v) => v > o.presenceGraceSeconds + 3);
  if (late.length) out.push(`- Kept in line more than 3 s past the grace after giving up: **${late.length}** fan(s) (up to ${f1(maxOf(late))} s): their presence was still held after their socket had closed; those admitted meanwhile kept their slot until ACTIVE_TTL_SECONDS=${o.activeTtlSeconds} ended it, not ACTIVE_IDLE_SECONDS.`);
  out.push('');
  out.push('## Sell-out');
  out.push('');
  out.push(`- Sold out **${s.soldOutAfter === null ? 'never (within the run)' : `${f1(s.soldOutAfter)} s`}** after opening; ideal ${f1(s.idealSeconds)} s = seats × mean shopping time (${f1(s.meanShoppingSeconds)} s, admission → paid) ÷ (capacity × ${f2(s.seatsPerBuyer)} seats per buyer), i.e. every slot always busy with a buyer. Ratio ${f2(s.ratio)}×. Buyers: ${s.buyers}. Every seat was taken (sold or held) ${s.allTakenAfter === null ? 'never' : `after ${f1(s.allTakenAfter)} s`}; the rest of the time went to seats held by fans who then let them lapse (HOLD_TTL_SECONDS=${o.holdTtlSeconds}) and to cancellations, resold to fans admitted as those seats came back (${a.outcomes['no seat'] ?? 0} admitted fans found no free seat and left).`);
  if (s.soldOutAfter !== null && s.allTakenAfter !== null) {
    const slots = a.slots.presentByOutcome;
    const total = Object.values(slots).reduce((sum, v) => sum + v, 0) + Object.values(a.slots.absentByOutcome).reduce((sum, v) => sum + v, 0);
    out.push(
      `- Where the time went: ${f1(s.allTakenAfter)} s until every seat was sold or held (${f2(s.allTakenAfter / s.idealSeconds)}× the ideal), then ${f1(s.soldOutAfter - s.allTakenAfter)} s in which seats came back only as holds lapsed or tickets were cancelled, each then resold within the shopping time of the fans admitted for it. Before that, the slots were ${pct(a.slots.fill)} full, and of all slot-seconds buyers held ${pct((slots.bought ?? 0) / total)}, fans who found no seat ${pct((slots['no seat'] ?? 0) / total)}, fans who let their holds lapse ${pct((slots['let holds lapse'] ?? 0) / total)}, absent fans ${pct(1 - a.slots.presentShare)}. Admission takes no more fans than seats are left, so a seat that comes back admits one fan; fans already ACTIVE compete for it too.`,
    );
  }
  out.push(`- Seats returned by lapsed holds: ${s.lapsedSeats}, resold ${s.lapsedResold} (after the hold lapsed: ${spread(s.lapsedResaleSeconds)}). Seats returned by cancellation: ${s.cancelledSeats}, resold ${s.cancelledResold} (${spread(s.cancelledResaleSeconds)}); reservation times have 1 s resolution.`);
  out.push(`- SOLD_OUT told to ${s.soldOutDelivered} fans; fans still waiting at the end without it: ${s.soldOutMissed}. Delay after the sell-out for fans in line then: p50 ${f2(percentile(s.soldOutLag, 50))} s, p99 ${f2(percentile(s.soldOutLag, 99))} s.`);
  out.push('');
  out.push('## Integrity (from MySQL at the end)');
  out.push('');
  out.push(`${i.seatsSold} of ${i.seats} seats sold; ${i.payments} payments worth ${i.paid} points; ${i.cancelled} cancelled reservations refunded ${i.refunded} points.`);
  out.push('');
  out.push('| check | ok | detail |');
  out.push('| --- | --- | --- |');
  for (const c of i.checks) out.push(`| ${c.name} | ${mark(c.ok)} | ${c.detail} |`);
  out.push(`| double submits answered with one payment (client side) | ${mark(x.doubleSubmitsSame === x.doubleSubmits)} | ${x.doubleSubmitsSame} of ${x.doubleSubmits} pairs named the same payment |`);
  out.push('');
  out.push('## Experience');
  out.push('');
  out.push(`Push lag (queueStatus push received − the admission tick's message seen by the orchestrator on Redis): p50 ${ms(x.pushLagMs.p50)}, p99 ${ms(x.pushLagMs.p99)}, max ${ms(x.pushLagMs.max)} over ${x.pushLagMs.count.toLocaleString('en')} pushes. A fan's own change (enter, leave, pay), told between ticks, timed from its own message: p50 ${ms(x.ownPushLagMs.p50)}, p99 ${ms(x.ownPushLagMs.p99)}, max ${ms(x.ownPushLagMs.max)} over ${x.ownPushLagMs.count.toLocaleString('en')} pushes.`);
  out.push('');
  out.push('| operation | count | p50 | p99 | errors by code |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const op of x.ops) out.push(`| ${op.op} | ${op.count} | ${ms(op.p50)} | ${ms(op.p99)} | ${Object.entries(op.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '–'} |`);
  out.push('');
  out.push('SEAT_UNAVAILABLE (lost races), INSUFFICIENT_POINTS (scripted short payments) are expected answers. `subscribe` is the time to the first queueStatus message.');
  out.push('');
  out.push('| replica | role | CPU during play | share of one core | peak RSS |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const u of run.usage) out.push(`| ${u.name} | ${u.role} | ${f1(u.cpuSeconds)} s | ${pct(u.cpuShare)} | ${Math.round(u.peakRssMiB)} MiB |`);
  out.push('');
  out.push(...firstMessage(run));
  if (run.clients.length) {
    out.push('The fans\' own processes (a late callback there is a late fan, not a slow service):');
    out.push('');
    out.push('| fan worker | fans | CPU | event-loop delay p50 / p99 / max | peak RSS |');
    out.push('| --- | --- | --- | --- | --- |');
    run.clients.forEach((c, n) => out.push(`| ${n} | ${c.fans.toLocaleString('en')} | ${f1(c.cpuSeconds)} s | ${ms(c.loopDelayP50Ms)} / ${ms(c.loopDelayP99Ms)} / ${ms(c.loopDelayMaxMs)} | ${Math.round(c.peakRssMiB)} MiB |`));
    out.push('');
  }
  out.push('## Abuse limits');
  out.push('');
  if (run.abusers.length === 0) out.push('No abusers in this run.');
  else {
    out.push('Three scripted abusers during the first 30 s of sales (the hammers pause 20 ms after a refusal; the socket hog holds its sockets 10 s), each with its own account and address (limits: 600 operations/min per account, 1,200/min per address, 5 sockets per account):');
    out.push('');
    out.push('| abuser | attempts | answers |');
    out.push('| --- | --- | --- |');
    for (const abuser of run.abusers) out.push(`| ${abuser.name} | ${abuser.attempts} | ${Object.entries(abuser.answers).map(([k, v]) => `${k || 'served'} ${v}`).join(', ')} |`);
    out.push('');
    out.push(`Honest fans refused by a limit: **${x.rateLimitedHonest}**.`);
  }
  out.push('');
  out.push('## Not rehearsed (yet)');
  out.push('');
  out.push('- The abusers are three and short-lived: no botnet (many addresses per abuser), no failed-logIn storm (fans do not log in).');
  out.push('- The replicas\' CPU profiles cover each replica\'s whole life (start-up and the final integrity reads included), not only the play.');
  out.push('- Fans who drop and return only do so while waiting, not while ACTIVE.');
  out.push('- A fan process sends its fans\' HTTP requests over one keep-alive pool per replica (as a proxy in front would), each with the fan\'s own token and X-Forwarded-For; only the WebSockets are one connection per fan.');
  out.push('- Sign-up is not rehearsed: fans are inserted in SQL with one password hash and given signed tokens.');
  out.push('- Slot use and forgetting are sampled (ACTIVE every 250 ms, the whole line every second), not exact.');
  out.push('- The fans\' processes share the machine\'s cores with the replicas, MariaDB and Redis: their event-loop delay (above) bounds how much of a latency is theirs.');
  out.push('');
  if (run.profiles.length && goals.some(([, ok]) => !ok)) out.push(...profiles(run));
  return out.join('\n');
}

const byOutcome = (slots: Record<string, number>) =>
  Object.entries(slots)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${f1(v)}`)
    .join(', ') || 'none';

/** Where the first queueStatus message's time goes: TCP + upgrade, connection_init → ack, subscribe → first next. */
function firstMessage(run: RehearsalRun): string[] {
  const op = (name: string) => run.analysis.experience.ops.find((o) => o.op === name);
  const [connect, ack, first] = [op('ws connect'), op('ws connection_ack'), op('subscribe')];
  if (!connect || !ack || !first) return [];
  const overflows = run.listenOverflows === undefined ? '' : ` The kernel turned away ${run.listenOverflows.toLocaleString('en')} connection(s) with a full accept queue during the play (TcpExt ListenOverflows, machine-wide); each such client retries its SYN after 1, 3, 7, 15 s.`;
  return [
    `First queueStatus message, from opening the socket (p50 / p99): socket open ${ms(connect.p50)} / ${ms(connect.p99)}; connection_ack ${ms(ack.p50)} / ${ms(ack.p99)}; first status ${ms(first.p50)} / ${ms(first.p99)}.${overflows}`,
    '',
  ];
}

/** Each replica's CPU profile in brief: where its time went, for the goals missed above. */
function profiles(run: RehearsalRun): string[] {
  const out = ['## CPU profiles (a goal was missed)', '', 'Each replica ran with `node --cpu-prof`; summarised as in bench/lib/profile.ts.', ''];
  for (const p of run.profiles) out.push(`### ${p.name}`, '', '```', p.summary, '```', '');
  return out;
}
