import { AccountResolver } from './account-resolver';
import { ConcertResolver } from './concert-resolver';
import { HoldResolver } from './hold-resolver';
import { PaymentResolver } from './payment-resolver';
import { QueueResolver } from './queue-resolver';
import { ReservationResolver } from './reservation-resolver';
import { ScheduleResolver } from './schedule-resolver';
import { SeatResolver } from './seat-resolver';
import { UserResolver } from './user-resolver';

export const resolvers = [AccountResolver, ConcertResolver, ScheduleResolver, QueueResolver, SeatResolver, HoldResolver, UserResolver, PaymentResolver, ReservationResolver] as const;
