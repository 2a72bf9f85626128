import type { SeatState } from '../seats/seat';

/** A reservation's life: CONFIRMED once paid; CANCELLED by its owner (refunded; the seat is free again). */
export enum ReservationStatus {
  CONFIRMED = 'CONFIRMED',
  CANCELLED = 'CANCELLED',
}

/** A reservation: one paid seat with its ticket code. */
export interface ReservationRecord {
  id: number;
  code: string;
  seatId: number;
  price: number;
  createdAt: Date;
  status: ReservationStatus;
  /** Null unless CANCELLED. */
  cancelledAt: Date | null;
  /**
   * The seat as the request that just wrote the reservation knows it (paid: RESERVED; cancelled:
   * AVAILABLE), so its answer needs no read after the commit, which could fail and turn a done
   * payment or cancellation into an error. Absent on reservations read back.
   */
  seat?: SeatState;
}

/** What pay answers: a payment, with its reservations when this request wrote them (a retry reads them later). */
export interface PaymentRecord {
  id: number;
  amount: number;
  balance: number;
  createdAt: Date;
  reservations?: ReservationRecord[];
}
