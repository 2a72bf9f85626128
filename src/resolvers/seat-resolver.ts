import { Arg, Authorized, Ctx, FieldResolver, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { toScheduleNode } from '../schema/mappers';
import { ScheduleNode, SeatNode } from '../schema/types';

interface ScheduleArgs {
  scheduleId: string;
}

@Resolver(() => SeatNode)
export class SeatResolver {
  @FieldResolver(() => ScheduleNode)
  async schedule(@Root() seat: SeatNode, @Ctx() { services }: Context): Promise<ScheduleNode> {
    return toScheduleNode(await services.concerts.getSchedule(seat.scheduleId));
  }

  @Authorized()
  @Subscription(() => SeatNode, {
    name: 'seatChanged',
    description: 'Every status change of a seat of this schedule. Needs ACTIVE for its concert.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ScheduleArgs, Context>) =>
      context.services.seatMap.watch(requireViewer(context).id, parseId(args.scheduleId, 'schedule')),
  })
  seatChanged(@Arg('scheduleId', () => ID) _scheduleId: string, @Root() seat: SeatNode): SeatNode {
    return seat;
  }
}
