import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { HoldNode, SeatNode } from '../schema/types';

@Resolver(() => HoldNode)
export class HoldResolver {
  @Authorized()
  @Mutation(() => HoldNode)
  holdSeat(@Arg('seatId', () => ID) seatId: string, @Ctx() context: Context): Promise<HoldNode> {
    return context.services.holds.hold(requireViewer(context).id, parseId(seatId, 'seat'));
  }

  @Authorized()
  @Mutation(() => Boolean)
  async releaseHold(@Arg('holdId', () => ID) holdId: string, @Ctx() context: Context): Promise<boolean> {
    await context.services.holds.release(requireViewer(context).id, holdId);
    return true;
  }

  @FieldResolver(() => SeatNode)
  seat(@Root() hold: HoldNode, @Ctx() { services }: Context): Promise<SeatNode> {
    return services.seatMap.seat(hold.seatId);
  }
}
