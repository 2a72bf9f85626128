import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { toUserNode } from '../schema/mappers';
import { AuthPayload, UserNode } from '../schema/types';

@Resolver()
export class AccountResolver {
  @Mutation(() => AuthPayload)
  async signUp(@Arg('email', () => String) email: string, @Arg('password', () => String) password: string, @Ctx() { services }: Context): Promise<AuthPayload> {
    const { token, user } = await services.accounts.signUp(email, password);
    return { token, user: toUserNode(user) };
  }

  @Mutation(() => AuthPayload)
  async logIn(@Arg('email', () => String) email: string, @Arg('password', () => String) password: string, @Ctx() { services }: Context): Promise<AuthPayload> {
    const { token, user } = await services.accounts.logIn(email, password);
    return { token, user: toUserNode(user) };
  }

  @Authorized()
  @Query(() => UserNode)
  async me(@Ctx() context: Context): Promise<UserNode> {
    return toUserNode(await context.services.accounts.viewer(requireViewer(context)));
  }
}
