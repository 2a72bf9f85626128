import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { toConcertNode, toScheduleNode } from '../schema/mappers';
import { LOADED_PER_PARENT } from '../schema/item-weight';
import { SeatStatus } from '../seats/seat';
import { ConcertNode, ScheduleNode, SeatMapNode, SeatNode } from '../schema/types';

@Resolver(() => ScheduleNode)
export class ScheduleResolver {
  @Authorized()
  @Query(() => ScheduleNode, {
    nullable: true,
    description: 'One schedule. Needs a token (its seats need ACTIVE too). Errors: UNAUTHENTICATED, BAD_USER_INPUT (malformed ID), NOT_FOUND (no schedule with that ID; the field is then null).',
  })
  async schedule(@Arg('id', () => ID) id: string, @Ctx() { services }: Context): Promise<ScheduleNode> {
    return toScheduleNode(await services.concerts.getSchedule(parseId(id, 'schedule')));
  }

  @FieldResolver(() => ConcertNode)
  async concert(@Root() schedule: ScheduleNode, @Ctx() { loaders }: Context): Promise<ConcertNode> {
    return toConcertNode(await loaders.concert(schedule.concertId));
  }

  @Extensions({ [LOADED_PER_PARENT]: true })
  @FieldResolver(() => Int, { description: 'Seats neither reserved nor held right now. Public.' })
  async availableSeats(@Root() schedule: ScheduleNode, @Ctx() { loaders }: Context): Promise<number> {
    return (await loaders.scheduleInventory(schedule)).available;
  }

  @Authorized()
  @FieldResolver(() => [SeatNode], { description: 'By seat number, optionally only those with this status. Needs ACTIVE for this concert. One operation resolves at most 500,000 fields of concerts, schedules, seats and reservations in all (every plain field of the largest schedule’s map; an object or a count under each item, such as a seat’s schedule, counts 50), a map counted by the schedule’s size whatever the status filter. Errors: UNAUTHENTICATED, NOT_ACTIVE, GRAPHQL_VALIDATION_FAILED (past that allowance), RATE_LIMITED (past the account’s seat-map fields a minute, SEAT_MAP_FIELDS_PER_MINUTE).' })
  async seats(
    @Root() schedule: ScheduleNode,
    @Arg('status', () => SeatStatus, { nullable: true }) status: SeatStatus | null,
    @Ctx() context: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<readonly SeatNode[]> {
    const seats = await context.loaders.seatMap(requireViewer(context).id, schedule, info);
    return status ? seats.filter((seat) => seat.status === status) : seats;
  }

  @Authorized()
  @FieldResolver(() => String, {
    description:
      "Where this schedule's seat changes stood just before this operation read its seat map (seats, seatMap): pass it to seatChanged(after:) to hear every change since the read, none missed between the read and the subscription. Needs a token.",
  })
  seatChangesCursor(@Root() schedule: ScheduleNode, @Ctx() { loaders }: Context): Promise<string> {
    return loaders.seatCursor(schedule.id);
  }

  @Authorized()
  @FieldResolver(() => SeatMapNode, { description: 'The seats of Schedule.seats as lists by seat number: the same map for a fraction of its cost on a large schedule (what the web app reads). Needs ACTIVE for this concert. Counts against the operation’s allowance as the schedule’s seats times the lists selected. Errors: UNAUTHENTICATED, NOT_ACTIVE, GRAPHQL_VALIDATION_FAILED (past the allowance), RATE_LIMITED (past the account’s seat-map fields a minute, counted alike).' })
  async seatMap(@Root() schedule: ScheduleNode, @Ctx() context: Context, @Info() info: GraphQLResolveInfo): Promise<SeatMapNode> {
    return context.services.seatMap.listsOf(await context.loaders.seatMap(requireViewer(context).id, schedule, info));
  }
}
