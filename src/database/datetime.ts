/**
 * Now, in whole seconds, as a DATETIME column keeps it (MySQL 8 would round the milliseconds up,
 * MariaDB cut them): a time written with it reads back as it was answered. In UTC, as the ORM reads
 * columns back; a column's CURRENT_TIMESTAMP default is the server's local time instead.
 */
export const datetimeNow = (): Date => new Date(Math.floor(Date.now() / 1000) * 1000);
