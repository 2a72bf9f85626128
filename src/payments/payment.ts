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
}

/** What pay answers: a payment, with its reservations when this request wrote them (a retry reads them later). */
export interface PaymentRecord {
  id: number;
  amount: number;
  balance: number;
  createdAt: Date;
  reservations?: ReservationRecord[];
}
