/* global process */
// Preloaded (node --require) into a server process: its clock runs CLOCK_SKEW_MS off the machine's
// (negative: behind), as on a replica whose clock has drifted. Date.now() and new Date() follow it.
const skewMs = Number(process.env.CLOCK_SKEW_MS) || 0;
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + skewMs);
    else super(...args);
  }

  static now() {
    return realNow() + skewMs;
  }
}

globalThis.Date = SkewedDate;
