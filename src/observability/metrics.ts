import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One concert's line as Redis has it, for the per-concert gauges. */
export interface LineFigures {
  concert: number;
  waiting: number;
  prequeue: number;
  active: number;
  /** Undefined while unknown (no recent tick or count). */
  seatsLeft?: number;
}

type LineGauge = Gauge<'concert'>;

/**
 * The per-concert gauges, read from Redis at each scrape (one read for the four): every replica reports
 * the same figures, whichever ran the last tick, and a concert leaves them with its line. Set at tick
 * time instead, each worker replica kept its own copy, stale once another took the ticks.
 */
function lineGauges(registry: Registry) {
  let source: () => Promise<LineFigures[]> = () => Promise.resolve([]);
  let reading: Promise<LineFigures[]> | undefined;
  // The four gauges are collected together: they share the read in flight.
  const lines = () =>
    (reading ??= source()
      .catch(() => [])
      .finally(() => (reading = undefined)));
  const gauge = (name: string, help: string, value: (line: LineFigures) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['concert'],
      registers: [registry],
      async collect(this: LineGauge) {
        this.reset();
        for (const line of await lines()) {
          const figure = value(line);
          if (figure !== undefined) this.set({ concert: String(line.concert) }, figure);
        }
      },
    });
  return {
    queueWaiting: gauge('queue_waiting', 'Fans waiting, per concert in line (read from Redis: the same on every replica)', (line) => line.waiting),
    queuePrequeue: gauge('queue_prequeue', 'Fans in the pre-queue before sales open, per concert in line (read from Redis: the same on every replica)', (line) => line.prequeue),
    queueActive: gauge('queue_active', 'Fans ACTIVE, per concert in line (read from Redis: the same on every replica)', (line) => line.active),
    seatsLeft: gauge('inventory_seats_left', 'Seats neither reserved nor held, per concert in line, as of the last admission tick (read from Redis: the same on every replica)', (line) => line.seatsLeft),
    /** Where the per-concert gauges read from (the waiting room, once it exists). */
    readLinesFrom(read: () => Promise<LineFigures[]>): void {
      source = read;
    },
  };
}

/** Prometheus metrics of one app instance (own registry, so several instances can share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    ...lineGauges(registry),
    salesOpened: new Counter({ name: 'queue_sales_opened_total', help: 'Concerts whose sales this process opened (the pre-queue became the line)', registers: [registry] }),
    droppedAbsent: new Counter({ name: 'queue_dropped_absent_total', help: 'Fans who lost their place (state="waiting", WAITING or PREQUEUE) or slot (state="active") for showing no presence', labelNames: ['state'], registers: [registry] }),
    slotsRecycled: new Counter({ name: 'queue_slots_recycled_total', help: 'ACTIVE slots taken from idle fans and given to the next in line', registers: [registry] }),
    admitted: new Counter({ name: 'queue_admitted_total', help: 'Fans admitted from the waiting room', registers: [registry] }),
    admittedPerTick: new Histogram({ name: 'queue_admitted_per_tick', help: 'Fans admitted in one tick', buckets: [0, 1, 10, 100, 1000, 10000], registers: [registry] }),
    expired: new Counter({ name: 'queue_expired_total', help: 'ACTIVE fans whose time ran out', registers: [registry] }),
    tickDuration: new Histogram({ name: 'queue_tick_duration_seconds', help: 'Duration of one admission tick', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: [registry] }),
    statusPushes: new Counter({ name: 'queue_status_pushes_total', help: 'queueStatus subscription messages sent by this process', registers: [registry] }),
    liveResyncs: new Counter({
      name: 'queue_live_resyncs_total',
      help: 'Times this process read every followed fan\'s place anew (sales opened, Redis lost its data, or the departures log ran ahead)',
      registers: [registry],
    }),
    liveSubscribers: new Gauge({ name: 'queue_status_subscribers', help: 'queueStatus subscriptions open on this process', registers: [registry] }),
    seatSubscribers: new Gauge({ name: 'seat_changed_subscribers', help: 'seatChanged subscriptions open on this process', registers: [registry] }),
    seatChangesReplayed: new Counter({
      name: 'seat_changes_replayed_total',
      help: 'Seat changes given to seatChanged feeds from the seat log rather than live: from="cursor", after a client\'s seatChanged(after:); from="reconnect", missed while this process\'s Redis subscription was away',
      labelNames: ['from'],
      registers: [registry],
    }),
    sqlStatements: new Counter({ name: 'mysql_statements_total', help: 'SQL statements this process sent for operations and jobs, BEGIN and COMMIT included (not /readyz probes, nor the session setting each new pooled connection gets)', registers: [registry] }),
    limitRefusals: new Counter({
      name: 'rate_limit_refusals_total',
      help: 'Operations, sign-ins and sockets refused by an abuse limit (account, ip, login_email, login_ip, sign_up_ip, sockets, anonymous_sockets, opening_sockets, socket_operations, socket_messages, seat_maps)',
      labelNames: ['limit'],
      registers: [registry],
    }),
    holdsExpired: new Counter({ name: 'holds_expired_total', help: 'Seat holds that lapsed', registers: [registry] }),
    soldOut: new Counter({ name: 'queue_sold_out_total', help: 'Times a concert sold out and its line closed', registers: [registry] }),
    payments: new Counter({ name: 'payments_total', help: 'Payments this process committed (a retry answered with its first payment counts once)', registers: [registry] }),
    seatsSold: new Counter({ name: 'seats_sold_total', help: 'Seats reserved by the payments this process committed', registers: [registry] }),
    paidPoints: new Counter({ name: 'points_paid_total', help: 'Points charged by the payments this process committed', registers: [registry] }),
    cancellations: new Counter({ name: 'reservations_cancelled_total', help: 'Reservations cancelled by their owners', registers: [registry] }),
    refundedPoints: new Counter({ name: 'points_refunded_total', help: 'Points refunded by cancellations', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
