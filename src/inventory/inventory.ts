/** Seats of a schedule, or of all of a concert's schedules, right now. */
export interface Inventory {
  /** Seats neither reserved nor held. */
  available: number;
  /** Every seat reserved (and there is at least one seat). */
  soldOut: boolean;
}

/**
 * A hold can outlive its seat's sale for a moment (it is released right after the commit), so
 * reserved + held may exceed the total: available never goes below 0.
 */
export function inventoryOf(totalSeats: number, reserved: number, held: number): Inventory {
  return { available: Math.max(0, totalSeats - reserved - held), soldOut: totalSeats > 0 && reserved >= totalSeats };
}

/** A concert's inventory: the sum of its schedules'. Sold out only when every schedule is. */
export function sumInventories(parts: readonly Inventory[]): Inventory {
  return {
    available: parts.reduce((total, part) => total + part.available, 0),
    soldOut: parts.length > 0 && parts.every((part) => part.soldOut),
  };
}
