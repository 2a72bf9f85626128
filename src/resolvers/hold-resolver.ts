import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { HoldNode, SeatNode } from '../schema/types';

@Resolver(() => HoldNode)
export class HoldResolver {
  @Authorized()
  @Mutation(() => HoldNode, {
    description:
      "Holds the seat for the caller for HOLD_TTL_SECONDS (default 300); the first caller wins. Holding a seat one already holds returns that hold. Needs ACTIVE for the seat's concert, and at most MAX_HOLDS_PER_SCHEDULE (default 4) live holds per schedule. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND, NOT_ACTIVE, SEAT_UNAVAILABLE, HOLD_LIMIT_REACHED.",
  })
  holdSeat(@Arg('seatId', () => ID) seatId: string, @Ctx() context: Context): Promise<HoldNode> {
    return context.services.holds.hold(requireViewer(context).id, parseId(seatId, 'seat'));
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      "Releases one of the caller's live holds; the seat becomes AVAILABLE. True once released. Needs a token, not ACTIVE. Errors: UNAUTHENTICATED, HOLD_NOT_FOUND (no such hold, expired, already released, or not the caller's: a retry after a lost answer learns the hold is gone).",
  })
  async releaseHold(@Arg('holdId', () => ID) holdId: string, @Ctx() context: Context): Promise<boolean> {
    await context.services.holds.release(requireViewer(context).id, holdId);
    return true;
  }

  @FieldResolver(() => SeatNode)
  seat(@Root() hold: HoldNode, @Ctx() { loaders }: Context): Promise<SeatNode> {
    return loaders.seat(hold.seatId);
  }
}
