/**
 * Every Redis key, pub/sub channel and BullMQ prefix the service uses, in one place.
 * Keys that one Lua script touches together share a hash tag (`{c:ID}`, `{s:ID}`) so they
 * live in one slot and the scripts keep working on Redis Cluster.
 */
export function redisKeys(prefix: string, database = 0) {
  // Channels are shared by every database of a Redis: two deployments told apart by REDIS_URL's /N
  // alone would hear each other's ticks and seat changes.
  const channel = database === 0 ? prefix : `${prefix}:db${database}`;
  const holds = (scheduleId: number) => {
    const tag = `${prefix}:{s:${scheduleId}}`;
    return {
      /** HASH seat → "holdId|userId|expiresAtMs". */
      bySeat: `${tag}:holds`,
      /** ZSET seat → expiresAtMs. */
      expiry: `${tag}:hold-expiry`,
      /** HASH user → number of live holds in this schedule. */
      perUser: `${tag}:hold-count`,
      /** HASH seat → the expiry (ms) its hold was taken with: how long payments may keep it at most. */
      takenUntil: `${tag}:hold-taken`,
      /** HASH seat → "count:untilMs": the payments keeping its hold, and until when; the fan's own releaseHold waits for them. */
      paying: `${tag}:hold-paying`,
      /**
       * BITMAP seat number → 1 while CONFIRMED (seat numbers start at 1): the inventory's (see
       * `inventory`), which a hold reads too. Bit 0 set means the bitmap is complete: rebuilt from
       * MySQL since Redis last lost it. Without it the count is unknown.
       */
      sold: `${tag}:sold`,
    };
  };
  return {
    /** Concert IDs that have anyone waiting, active or followed live: what the admission tick visits. */
    queueIndex: `${prefix}:queues`,
    /**
     * ZSET concert ID → when its last show starts (ms): concerts whose line a tick closed as sold out,
     * whose seat counts the inventory check keeps comparing with MySQL until then (see
     * QueueService.checkInventory), also once nobody is in line.
     */
    soldOutIndex: `${prefix}:sold-out`,
    /**
     * ZSET concert ID → when (ms) a sale or cancellation of its seats was about to commit: the
     * inventory check looks at such a concert until that commit has settled, in line or not (see
     * InventoryService.noteChanging).
     */
    seatsChanging: `${prefix}:seats-changing`,
    /** Counter: the number of the last admission tick announced (TickMessage.seq); in the {pubsub} slot, whose node announces it (PUBLISH_TICK). */
    tickSeq: `${prefix}:{pubsub}:tick-seq`,
    queue: (concertId: number) => {
      const tag = `${prefix}:{c:${concertId}}`;
      return {
        /**
         * ZSET user → ticket number (FIFO order). Fans who entered before sales opened have a
         * negative random score instead, so they come first in a random order.
         */
        wait: `${tag}:wait`,
        /** ZSET user → activeUntil (ms). */
        active: `${tag}:active`,
        /** Ticket counter: strictly increasing, so simultaneous entrants get distinct places. */
        seq: `${tag}:seq`,
        /** LIST of "ms:admitted" per tick over the last minute, for the admission rate. */
        admissions: `${tag}:admissions`,
        /**
         * HASH, read by status queries: rate (measured admissions per minute), cap (capacity), left
         * (seats left as of leftUntil ms, after which it is unknown), soldOut (1 while every seat is
         * reserved: the line is closed), grace and idle (the presence limits in ms, as the last tick
         * had them: status and entry calls judge lapses by them), logSeq and logEpoch (the departures
         * log's position and identity), reopens (cancellations that reopened the line), closedAt (when it was
         * last closed as sold out, by a tick or by the payment of the last seat: a stamp, see QUEUE_ADMIT).
         */
        stats: `${tag}:stats`,
        /**
         * Sales opening: the opening time (ms) while the concert is in pre-queue, `open` once the
         * admission tick opened it. Missing: not known to this Redis yet (seeded from MySQL).
         */
        sales: `${tag}:sales`,
        /** ZSET user → last sign of presence (ms) of fans in `wait` (WAITING and PREQUEUE). */
        seen: `${tag}:seen`,
        /** ZSET user → last sign of presence (ms) of ACTIVE fans. */
        activeSeen: `${tag}:active-seen`,
        /**
         * STREAM of departures from the line (and ACTIVE slots), one entry per change with the IDs
         * `<seq>-0`, seq counted in stats `logSeq`: what each replica's live feed follows to keep its
         * subscribers' positions exact without asking Redis for each (see LiveQueueStatus).
         */
        departures: `${tag}:departures`,
        /** ZSET (scores 0) "replicaId:userId": which replica holds an open subscription of which fan. */
        watchers: `${tag}:watchers`,
        /** HASH user → how many replicas hold an open subscription of theirs (absent: none). */
        watchCount: `${tag}:watch-count`,
        /**
         * HASH replicaId → the sum of the user ids it holds in `watchers`: with their count, what a
         * replica's heartbeat compares with the fans it follows, so that holds it no longer has (a
         * Redis back from an older snapshot restores them) are found without reading them one by one.
         */
        watchSums: `${tag}:watch-sums`,
        /**
         * HASH user → the fan's last sign of presence (ms) while some replica holds them (`seen` then
         * reads WATCHED): when the last hold goes, the grace counts from the later of this and that
         * hold's end, so a dead replica's old beat never erases a newer sign.
         */
        watchedSeen: `${tag}:watched-seen`,
        /** ZSET replicaId → last heartbeat (ms, Redis clock) of replicas that hold subscriptions here. */
        replicas: `${tag}:replicas`,
      };
    },
    /**
     * STRING: the run ids of the Redis servers (serverRunIds) as the inventory check last saw them; one
     * that differs says a server restarted or failed over since, maybe losing its latest writes.
     */
    inventoryServers: `${prefix}:inventory-servers`,
    /** Schedule IDs that have live holds: what the hold-expiry sweep visits. */
    holdIndex: `${prefix}:hold-schedules`,
    holds,
    /** One schedule's inventory, in the slot of its holds, so one script reads both. */
    inventory: (scheduleId: number) => ({
      sold: holds(scheduleId).sold,
      /**
       * HASH seat number → bit, of the sales and cancellations marked while `sold` was incomplete:
       * newer than what a rebuild under way read from MySQL, they win over it. Gone once it completes.
       */
      marks: `${prefix}:{s:${scheduleId}}:marks`,
      /** The hold expiry ZSET: live holds are those expiring after now. */
      holdExpiry: holds(scheduleId).expiry,
    }),
    /** ZSET holdId → expiresAtMs: the user's holds across schedules (verified against the schedule on read). */
    userHolds: (userId: number) => `${prefix}:{u:${userId}}:holds`,
    /** ZSET socketId → lease expiry (ms, Redis clock): the account's open graphql-ws connections, on any replica. */
    sockets: (userId: number) => `${prefix}:{u:${userId}}:sockets`,
    /**
     * rate-limiter-flexible key prefixes (it appends `:<id>`); each key is a counter with the window as TTL.
     * Operations per account (id: user ID) and per client IP; failed logIns per email (id: SHA-256 of the
     * normalized email, so no address sits in Redis) and per IP.
     */
    limits: {
      account: `${prefix}:limit:account`,
      ip: `${prefix}:limit:ip`,
      loginEmail: `${prefix}:limit:login-email`,
      loginIp: `${prefix}:limit:login-ip`,
      signUpIp: `${prefix}:limit:sign-up-ip`,
      /** Fields of seat maps read per account (id: user ID), weighted as the operation's allowance counts them. */
      seatMaps: `${prefix}:limit:seat-maps`,
    },
    channels: {
      /** One message per admission tick: which concerts changed. */
      queueTicks: `${channel}:queue-ticks`,
      /**
       * One per schedule: its seat changes (seatChanged). Redis channels ignore the database index, so
       * they carry the key prefix and the index.
       */
      seatChanged: (scheduleId: number) => `${channel}:pubsub:seat-changed:${scheduleId}`,
      /**
       * STREAM per schedule: its seat changes of the last few seconds as published (PUBLISH_SEAT_CHANGE),
       * for a seatChanged subscriber to catch up from a seat map's cursor (SEAT_LOG_SINCE). In the
       * {pubsub} slot: every seat change leaves from that one node, so in the order made.
       */
      seatLog: (scheduleId: number) => `${prefix}:{pubsub}:seat-log:${scheduleId}`,
      /** STRING, set for a while once a payment's seats of a schedule are announced sold (PUBLISH_ONCE); in seatLog's slot. */
      paymentTold: (paymentId: number, scheduleId: number) => `${prefix}:{pubsub}:payment-told:${paymentId}:${scheduleId}`,
      /** No messages: subscribed at start so the event subscriber's connection is open before any request subscribes (see startApp). */
      subscriberOpen: `${channel}:subscriber-open`,
    },
    /** BullMQ key prefix; the hash tag keeps each queue's keys in one slot on Redis Cluster. */
    bullPrefix: `${prefix}:{jobs}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
