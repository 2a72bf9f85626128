import { sharedNow } from '../redis/clock';

/**
 * Now on the shared clock (every replica's rows in one order), in whole seconds, as a DATETIME column
 * keeps it (MySQL 8 would round the milliseconds up, MariaDB cut them): a time written with it reads
 * back as it was answered. In UTC, as the ORM reads columns back; a column's CURRENT_TIMESTAMP
 * default is the server's local time instead.
 */
export const datetimeNow = (): Date => new Date(Math.floor(sharedNow() / 1000) * 1000);
