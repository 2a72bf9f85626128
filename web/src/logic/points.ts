import { countWords, nounFor } from './numbers';

/** The unit a number of points asks for, where the number stands apart from it (the balance). */
export const pointsUnit = (points: number): string => nounFor(points, 'point');

/** A price, a total or a balance: "120 points", "1,500 points", "1 point". */
export const pointsWords = (points: number): string => countWords(points, 'point');

/** A refund's news: "100 points are back in your balance.", "1 point is back…". */
export const refundWords = (points: number): string => `${pointsWords(points)} ${points === 1 ? 'is' : 'are'} back in your balance.`;
