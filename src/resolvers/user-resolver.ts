import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { toPointTransactionNode, toReservationNode, toUserNode } from '../schema/mappers';
import { HoldNode, PointTransactionNode, ReservationNode, UserNode } from '../schema/types';

/** Points and the user's bookings. A UserNode is only ever the caller's own (me, signUp, logIn, chargePoints). */
@Resolver(() => UserNode)
export class UserResolver {
  @Authorized()
  @Mutation(() => UserNode)
  async chargePoints(@Arg('amount', () => Int) amount: number, @Ctx() context: Context): Promise<UserNode> {
    return toUserNode(await context.services.points.charge(requireViewer(context).id, amount));
  }

  @FieldResolver(() => [PointTransactionNode])
  async pointHistory(@Root() user: UserNode, @Arg('limit', () => Int, { nullable: true, defaultValue: 20 }) limit: number, @Ctx() { services }: Context): Promise<PointTransactionNode[]> {
    return (await services.points.history(Number(user.id), limit)).map(toPointTransactionNode);
  }

  @FieldResolver(() => [HoldNode])
  holds(@Root() user: UserNode, @Ctx() { services }: Context): Promise<HoldNode[]> {
    return services.holds.list(Number(user.id));
  }

  @FieldResolver(() => [ReservationNode])
  async reservations(@Root() user: UserNode, @Ctx() { services }: Context): Promise<ReservationNode[]> {
    return (await services.payments.reservationsOf(Number(user.id))).map(toReservationNode);
  }
}
