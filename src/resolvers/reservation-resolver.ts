import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { ReservationNode, SeatNode } from '../schema/types';

@Resolver(() => ReservationNode)
export class ReservationResolver {
  @FieldResolver(() => SeatNode)
  seat(@Root() reservation: ReservationNode, @Ctx() { services }: Context): Promise<SeatNode> {
    return services.seatMap.seat(reservation.seatId);
  }
}
