import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, Info, Int, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { toPointTransactionNode } from '../schema/mappers';
import { HoldNode, PointTransactionNode, ReservationNode, UserNode } from '../schema/types';

/** Entries of pointHistory when no limit is given. */
const HISTORY_DEFAULT = 20;

/** Points and the user's bookings. A UserNode is only ever the caller's own (me, signUp, logIn, chargePoints). */
@Resolver(() => UserNode)
export class UserResolver {
  @Authorized()
  @Mutation(() => UserNode, { description: 'Adds points to the caller\'s balance: a whole number from 1 to MAX_CHARGE (default 1,000,000); a balance cannot exceed 2,147,483,647. Needs a token. Errors: UNAUTHENTICATED, BAD_USER_INPUT.' })
  async chargePoints(@Arg('amount', () => Int) amount: number, @Ctx() context: Context): Promise<UserNode> {
    return context.services.points.charge(requireViewer(context).id, amount);
  }

  @FieldResolver(() => [PointTransactionNode], { description: 'Newest first; the balances sum up to points. limit: 1 to 1,000. Errors: BAD_USER_INPUT.' })
  async pointHistory(@Root() user: UserNode, @Arg('limit', () => Int, { nullable: true, defaultValue: HISTORY_DEFAULT }) limit: number | null, @Ctx() { services }: Context): Promise<PointTransactionNode[]> {
    // An explicit null (a client passing an unset variable) means the default, as an absent argument does.
    return (await services.points.history(user.id, limit ?? HISTORY_DEFAULT)).map(toPointTransactionNode);
  }

  @FieldResolver(() => [HoldNode], { description: 'Live holds, soonest to lapse first.' })
  holds(@Root() user: UserNode, @Ctx() { services }: Context): Promise<HoldNode[]> {
    return services.holds.list(user.id);
  }

  @FieldResolver(() => [ReservationNode], { description: 'Newest first, cancelled ones included.' })
  async reservations(@Root() user: UserNode, @Ctx() { loaders }: Context, @Info() info: GraphQLResolveInfo): Promise<ReservationNode[]> {
    return loaders.reservationsOf(user.id, info);
  }
}
