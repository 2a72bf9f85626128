import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { Role } from '../entities';
import { orNotFound, parseAfterId, parseId } from '../errors';
import { LOADED_PER_PARENT } from '../schema/item-weight';
import { toConcertNode, toScheduleNode } from '../schema/mappers';
import { ConcertOrder, MAX_CONCERT_PAGE } from '../concerts/concert-service';
import { ConcertInputNode, ConcertNode, ScheduleNode } from '../schema/types';

@Resolver(() => ConcertNode)
export class ConcertResolver {
  @Query(() => [ConcertNode], {
    description: `Concerts, oldest first (by ID) unless \`order\` says otherwise. Public. Without \`limit\`, every concert; a client showing a list should page it: \`limit\` (1 to ${MAX_CONCERT_PAGE}) concerts at most, those after the concert whose ID is \`after\` in that order (the last one of the previous page). Errors: BAD_USER_INPUT (limit out of range, malformed after).`,
  })
  async concerts(
    @Arg('limit', () => Int, { nullable: true, description: `At most this many (1 to ${MAX_CONCERT_PAGE}); absent or null: all.` }) limit: number | null | undefined,
    @Arg('after', () => ID, { nullable: true, description: 'Only concerts after this ID in the order: the last ID of the previous page. Need not name an existing concert.' }) after: string | null | undefined,
    @Arg('order', () => ConcertOrder, { nullable: true, defaultValue: ConcertOrder.OLDEST_FIRST, description: 'Null: OLDEST_FIRST.' }) order: ConcertOrder | null,
    @Ctx() { loaders }: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConcertNode[]> {
    return (await loaders.concertList(info, { limit, order, after: after == null ? null : parseAfterId(after, 'concert') })).map(toConcertNode);
  }

  @Query(() => ConcertNode, { nullable: true, description: 'One concert. Public. Errors: BAD_USER_INPUT (malformed ID), NOT_FOUND (no concert with that ID; the field is then null).' })
  async concert(@Arg('id', () => ID) id: string, @Ctx() { services }: Context): Promise<ConcertNode> {
    return toConcertNode(await orNotFound(services.concerts.find(parseId(id, 'concert')), 'concert'));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ConcertNode, {
    description:
      'ADMIN only. Creates the concert, its schedules and their numbered seats at once. title and venue: 1 to 200 characters; maxActiveUsers: 1 to 1,000,000; 1 to 100 schedules, each with 1 to 100,000 seats (500,000 in all) priced 0 to 100,000,000 points; salesOpenAt: when the waiting room starts admitting (absent, null or past: at once). Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT.',
  })
  async createConcert(@Arg('input', () => ConcertInputNode) input: ConcertInputNode, @Ctx() { services }: Context): Promise<ConcertNode> {
    return toConcertNode(await services.concerts.create(input));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ConcertNode, {
    description: 'ADMIN only. Takes effect at the next admission tick; ACTIVE fans above a lowered capacity keep their time. maxActiveUsers: 1 to 1,000,000. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, NOT_FOUND.',
  })
  async setMaxActiveUsers(
    @Arg('concertId', () => ID) concertId: string,
    @Arg('maxActiveUsers', () => Int) maxActiveUsers: number,
    @Ctx() { services }: Context,
  ): Promise<ConcertNode> {
    return toConcertNode(await services.concerts.setMaxActiveUsers(parseId(concertId, 'concert'), maxActiveUsers));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ConcertNode, {
    description:
      'ADMIN only. Moves the opening of sales while they are closed: fans who enter before it are PREQUEUE, and the first admission tick at or after it puts them in a uniformly random order. A time in the past, or null, opens sales at the next admission tick. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT (malformed ID, or sales have already opened).',
  })
  async setSalesOpenAt(
    @Arg('concertId', () => ID) concertId: string,
    @Arg('salesOpenAt', () => Date, { nullable: true }) salesOpenAt: Date | null | undefined,
    @Ctx() { services }: Context,
  ): Promise<ConcertNode> {
    return toConcertNode(await services.queue.setSalesOpenAt(parseId(concertId, 'concert'), salesOpenAt ?? null));
  }

  @FieldResolver(() => [ScheduleNode], { description: 'Soonest first.' })
  async schedules(@Root() concert: ConcertNode, @Ctx() { loaders }: Context, @Info() info: GraphQLResolveInfo): Promise<ScheduleNode[]> {
    return (await loaders.answeredSchedulesOf(concert.id, info)).map(toScheduleNode);
  }

  @Extensions({ [LOADED_PER_PARENT]: true })
  @FieldResolver(() => Int, { description: 'Seats of all its schedules that are neither reserved nor held right now. Public.' })
  async availableSeats(@Root() concert: ConcertNode, @Ctx() { loaders }: Context): Promise<number> {
    return (await loaders.concertInventory(concert.id)).available;
  }

  @Extensions({ [LOADED_PER_PARENT]: true })
  @FieldResolver(() => Boolean, { description: 'True while every seat of every schedule is reserved. Public.' })
  async soldOut(@Root() concert: ConcertNode, @Ctx() { loaders }: Context): Promise<boolean> {
    return (await loaders.concertInventory(concert.id)).soldOut;
  }
}
