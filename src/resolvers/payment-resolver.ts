import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { toPaymentNode, toReservationNode } from '../schema/mappers';
import { PaymentNode, ReservationNode } from '../schema/types';

@Resolver(() => PaymentNode)
export class PaymentResolver {
  @Authorized()
  @Mutation(() => PaymentNode)
  async pay(@Arg('holdIds', () => [ID]) holdIds: string[], @Arg('idempotencyKey', () => String) idempotencyKey: string, @Ctx() context: Context): Promise<PaymentNode> {
    return toPaymentNode(await context.services.payments.pay(requireViewer(context).id, holdIds, idempotencyKey));
  }

  @FieldResolver(() => [ReservationNode])
  async reservations(@Root() payment: PaymentNode, @Ctx() { services }: Context): Promise<ReservationNode[]> {
    return payment.written ?? (await services.payments.reservationsOfPayment(Number(payment.id))).map(toReservationNode);
  }
}
