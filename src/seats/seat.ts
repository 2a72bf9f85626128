/** A seat as the catalogue keeps it: plain values, fixed once its concert is created. */
export interface SeatInfo {
  id: number;
  scheduleId: number;
  concertId: number;
  number: number;
  price: number;
}
