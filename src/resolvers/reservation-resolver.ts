import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { ReservationNode, SeatNode } from '../schema/types';

@Resolver(() => ReservationNode)
export class ReservationResolver {
  @FieldResolver(() => SeatNode)
  seat(@Root() reservation: ReservationNode, @Ctx() { loaders }: Context): Promise<SeatNode> {
    return loaders.seat(reservation.seatId);
  }
}
