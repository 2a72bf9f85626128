import { Concert } from './concert.entity';
import { Payment } from './payment.entity';
import { PointTransaction } from './point-transaction.entity';
import { Reservation } from './reservation.entity';
import { Schedule } from './schedule.entity';
import { Seat } from './seat.entity';
import { User } from './user.entity';

export { Concert, Payment, PointTransaction, Reservation, Schedule, Seat, User };
export { Role } from './user.entity';
export { PointTransactionKind } from './point-transaction.entity';

export const entities = [User, Concert, Schedule, Seat, Payment, Reservation, PointTransaction];
