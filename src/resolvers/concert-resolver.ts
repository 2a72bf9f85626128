import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Context } from '../context';
import { Role } from '../entities';
import { parseId } from '../errors';
import { toConcertNode, toScheduleNode } from '../schema/mappers';
import { ConcertInputNode, ConcertNode, ScheduleNode } from '../schema/types';

@Resolver(() => ConcertNode)
export class ConcertResolver {
  @Query(() => [ConcertNode])
  async concerts(@Ctx() { services }: Context): Promise<ConcertNode[]> {
    return (await services.concerts.list()).map(toConcertNode);
  }

  @Query(() => ConcertNode, { nullable: true })
  async concert(@Arg('id', () => ID) id: string, @Ctx() { services }: Context): Promise<ConcertNode | null> {
    const concert = await services.concerts.find(parseId(id, 'concert'));
    return concert ? toConcertNode(concert) : null;
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ConcertNode, { description: 'ADMIN only.' })
  async createConcert(@Arg('input', () => ConcertInputNode) input: ConcertInputNode, @Ctx() { services }: Context): Promise<ConcertNode> {
    return toConcertNode(await services.concerts.create(input));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ConcertNode, { description: 'ADMIN only. Takes effect at the next admission tick.' })
  async setMaxActiveUsers(
    @Arg('concertId', () => ID) concertId: string,
    @Arg('maxActiveUsers', () => Int) maxActiveUsers: number,
    @Ctx() { services }: Context,
  ): Promise<ConcertNode> {
    return toConcertNode(await services.concerts.setMaxActiveUsers(parseId(concertId, 'concert'), maxActiveUsers));
  }

  @FieldResolver(() => [ScheduleNode])
  async schedules(@Root() concert: ConcertNode, @Ctx() { loaders }: Context): Promise<ScheduleNode[]> {
    return (await loaders.schedulesOf(Number(concert.id))).map(toScheduleNode);
  }
}
