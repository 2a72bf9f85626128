/** One of a fan's live holds. The ID is opaque to clients: `<scheduleId>.<seatId>.<random>`. */
export interface Hold {
  id: string;
  seatId: number;
  expiresAt: Date;
}
