import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { PaymentNode, ReservationNode } from '../schema/types';

@Resolver(() => PaymentNode)
export class PaymentResolver {
  @Authorized()
  @Mutation(() => PaymentNode, {
    description:
      "Pays for 1 to 100 of the caller's live holds with points, in one transaction: all seats become RESERVED or none does. Needs a token and live holds, not ACTIVE; ends the caller's ACTIVE slot for the concert. idempotencyKey (1 to 128 characters, case-sensitive): a retry with the same key and holds returns the first payment and charges nothing more. Errors: UNAUTHENTICATED, BAD_USER_INPUT, HOLD_NOT_FOUND (also for a held seat that was sold meanwhile), INSUFFICIENT_POINTS, IDEMPOTENCY_KEY_REUSED.",
  })
  async pay(@Arg('holdIds', () => [ID]) holdIds: string[], @Arg('idempotencyKey', () => String) idempotencyKey: string, @Ctx() context: Context): Promise<PaymentNode> {
    return context.services.payments.pay(requireViewer(context).id, holdIds, idempotencyKey);
  }

  @FieldResolver(() => [ReservationNode], { description: 'In seat order.' })
  async reservations(@Root() payment: PaymentNode, @Ctx() { services }: Context): Promise<ReservationNode[]> {
    return payment.reservations ?? services.payments.reservationsOfPayment(payment.id);
  }
}
