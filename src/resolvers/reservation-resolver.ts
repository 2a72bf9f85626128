import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { ReservationNode, SeatNode } from '../schema/types';

@Resolver(() => ReservationNode)
export class ReservationResolver {
  @Authorized()
  @Mutation(() => ReservationNode, {
    description:
      "The owner cancels a reservation before its schedule starts: the price comes back as a REFUND point transaction and the seat becomes AVAILABLE. Cancelling a CANCELLED reservation returns it unchanged. Needs a token. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND (also for another user's reservation), NOT_CANCELLABLE.",
  })
  cancelReservation(@Arg('reservationId', () => ID) reservationId: string, @Ctx() context: Context): Promise<ReservationNode> {
    return context.services.cancellations.cancel(requireViewer(context).id, parseId(reservationId, 'reservation'));
  }

  @FieldResolver(() => SeatNode)
  seat(@Root() reservation: ReservationNode, @Ctx() { loaders }: Context): Promise<SeatNode> {
    return reservation.seat ? Promise.resolve(reservation.seat) : loaders.seat(reservation.seatId);
  }
}
