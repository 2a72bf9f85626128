import { Arg, Authorized, Ctx, Extensions, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { parseId } from '../errors';
import { EVENT_IS_VALUE } from '../schema/projected-subscribe';
import { QueueStatusNode } from '../schema/types';

interface ConcertArgs {
  concertId: string;
}

@Resolver()
export class QueueResolver {
  @Authorized()
  @Mutation(() => QueueStatusNode, {
    description:
      "Enters the concert's waiting room, first come first served; before sales open, the pre-queue (PREQUEUE, with salesOpenAt and no position), put in a uniformly random order at opening. Idempotent: a fan WAITING, PREQUEUE or ACTIVE keeps the place and the state. While every seat is reserved the answer is SOLD_OUT and nobody joins the line (nor the pre-queue). Counts as presence. Needs a token. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND.",
  })
  enterQueue(@Arg('concertId', () => ID) concertId: string, @Ctx() context: Context): Promise<QueueStatusNode> {
    return context.services.queue.enter(requireViewer(context).id, parseId(concertId, 'concert'));
  }

  @Authorized()
  @Mutation(() => QueueStatusNode, {
    description: 'Leaves the waiting room (WAITING or ACTIVE) at once, freeing the place or slot; holds stay until they lapse or are paid. Needs a token. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND.',
  })
  leaveQueue(@Arg('concertId', () => ID) concertId: string, @Ctx() context: Context): Promise<QueueStatusNode> {
    return context.services.queue.leave(requireViewer(context).id, parseId(concertId, 'concert'));
  }

  @Authorized()
  @Query(() => QueueStatusNode, {
    description: "The caller's status now. Counts as presence. Needs a token; prefer the subscription of the same name. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND.",
  })
  queueStatus(@Arg('concertId', () => ID) concertId: string, @Ctx() context: Context): Promise<QueueStatusNode> {
    return context.services.queue.status(requireViewer(context).id, parseId(concertId, 'concert'));
  }

  // Authentication happens once, in `subscribe`; this resolver runs per pushed status and stays bare.
  @Subscription(() => QueueStatusNode, {
    name: 'queueStatus',
    description:
      "The caller's own status: sent at once on subscribe, then on every change (position, admission, opening, expiry, seatsLeft), within one admission tick. Stays open past SOLD_OUT: when a cancellation makes the concert sell again, the fan, out of line, is pushed NONE with seatsLeft. While open it is the fan's presence, on any replica: a fan in line with no sign of presence for PRESENCE_GRACE_SECONDS loses the place (NONE). Needs a token; ends with UNAUTHENTICATED when the token expires. Errors: UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND.",
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, ConcertArgs, Context>) => {
      const userId = requireViewer(context).id;
      const concertId = parseId(args.concertId, 'concert');
      return await context.services.liveQueue.watch(userId, concertId);
    },
  })
  // The event is the status: the fast path of projectedSubscribe need not call this per subscriber.
  @Extensions({ [EVENT_IS_VALUE]: true })
  queueStatusChanged(@Arg('concertId', () => ID) _concertId: string, @Root() status: QueueStatusNode): QueueStatusNode {
    return status;
  }
}
