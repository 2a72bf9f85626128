/** Counts as every line of the page writes them (the page is in English): "1,500". */
export const formatCount = (count: number): string => count.toLocaleString('en-US');

/** The noun a count asks for: "seat" for one, "seats" for any other number. */
export const nounFor = (count: number, noun: string): string => (count === 1 ? noun : `${noun}s`);

/** A count with its noun: "1 seat", "312 seats", "1,500 points". */
export const countWords = (count: number, noun: string): string => `${formatCount(count)} ${nounFor(count, noun)}`;
