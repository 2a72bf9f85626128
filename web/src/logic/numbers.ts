/** Counts as every line of the page writes them (the page is in English): "1,500". */
export const formatCount = (count: number): string => count.toLocaleString('en-US');

/** A count with its noun, one or many: "1 seat", "312 seats", "1,500 points". */
export const countWords = (count: number, noun: string): string => `${formatCount(count)} ${count === 1 ? noun : `${noun}s`}`;
