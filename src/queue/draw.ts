import { randomInt } from 'node:crypto';

/**
 * A pre-queue place: a uniformly random integer in [-2^53, -1], from the operating system's CSPRNG
 * (Lua's math.random is predictable). Every fan who enters before opening draws one, independent of
 * when they arrived; sorted, they are a uniformly random order of the pre-queue (a tie, about
 * n²/2^54 likely, takes the next free score: QUEUE_ENTER), and being negative they sit ahead of
 * every ticket handed out after opening. Exact as a double and as a Redis score.
 */
export function drawPreQueueScore(): number {
  // randomInt spans fewer than 2^48 values: two draws make the 53 bits.
  return -(randomInt(2 ** 26) * 2 ** 27 + randomInt(2 ** 27)) - 1;
}
