import { Arg, Authorized, Ctx, FieldResolver, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { toScheduleNode } from '../schema/mappers';
import { ScheduleNode, SeatNode } from '../schema/types';
import type { SeatState } from '../seats/seat';

interface ScheduleArgs {
  scheduleId: string;
}

@Resolver(() => SeatNode)
export class SeatResolver {
  @FieldResolver(() => ScheduleNode)
  async schedule(@Root() seat: SeatNode, @Ctx() { loaders }: Context): Promise<ScheduleNode> {
    return toScheduleNode(await loaders.schedule(seat.scheduleId));
  }

  @Authorized()
  @Subscription(() => SeatNode, {
    name: 'seatChanged',
    description:
      "Every status change of a seat of this schedule, from the moment of subscribing (read Schedule.seats for the map itself). Needs ACTIVE for its concert; ends with NOT_ACTIVE once the caller's ACTIVE time ends (expiry, leaving or paying), which is its normal end, or with UNAUTHENTICATED when the token expires. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND, NOT_ACTIVE.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ScheduleArgs, Context>) =>
      context.services.seatMap.watch(requireViewer(context).id, parseId(args.scheduleId, 'schedule')),
  })
  /** The published payload is the domain's SeatState, which SeatNode presents field for field. */
  seatChanged(@Arg('scheduleId', () => ID) _scheduleId: string, @Root() change: SeatState): SeatNode {
    return change;
  }
}
