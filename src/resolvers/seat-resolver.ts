import { Arg, Authorized, Ctx, FieldResolver, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { toScheduleNode } from '../schema/mappers';
import { ScheduleNode, SeatNode } from '../schema/types';
import type { SeatState } from '../seats/seat';

interface ScheduleArgs {
  scheduleId: string;
  after?: string | null;
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
      "Every status change of a seat of this schedule, from the moment of subscribing, or with `after` from the moment a seat map was read (read Schedule.seatMap or Schedule.seats for the map itself). Needs ACTIVE for its concert; ends with NOT_ACTIVE once the caller's ACTIVE time ends (expiry, leaving or paying), which is its normal end, or with UNAUTHENTICATED when the token expires. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND, NOT_ACTIVE.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ScheduleArgs, Context>) =>
      context.services.seatMap.watch(requireViewer(context).id, parseId(args.scheduleId, 'schedule'), args.after ?? undefined),
  })
  /** The published payload is the domain's SeatState, which SeatNode presents field for field. */
  seatChanged(
    @Arg('scheduleId', () => ID) _scheduleId: string,
    @Arg('after', () => String, {
      nullable: true,
      description:
        "A seat map's Schedule.seatChangesCursor: the subscription then starts with every change since that map was read (none missed between the read and the subscription), then goes on live. A cursor stays good until 30 s after the schedule's next change, or for 10 minutes while nothing changes. Errors: BAD_USER_INPUT (malformed, or older than that: read the map again).",
    })
    _after: string | null,
    @Root() change: SeatState,
  ): SeatNode {
    return change;
  }
}
