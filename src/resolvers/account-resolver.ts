import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type Context } from '../context';
import { AuthPayload, UserNode } from '../schema/types';

@Resolver()
export class AccountResolver {
  @Mutation(() => AuthPayload, {
    description:
      'Creates a USER account and signs it in; no token needed. The email is compared case-insensitively; the password needs 8 to 200 characters. Errors: BAD_USER_INPUT (bad email or password), EMAIL_TAKEN, RATE_LIMITED (too many sign-ups and sign-ins waiting for their password check: see retryAfterSeconds).',
  })
  async signUp(@Arg('email', () => String) email: string, @Arg('password', () => String) password: string, @Ctx() { services, clientIp }: Context): Promise<AuthPayload> {
    return services.accounts.signUp(email, password, clientIp);
  }

  @Mutation(() => AuthPayload, {
    description: 'Signs in; no token needed. Send the token as "Authorization: Bearer <token>" (HTTP) or in connectionParams.authorization (WebSocket). Errors: BAD_USER_INPUT (not an email, or a password over 200 characters: no account has one), INVALID_CREDENTIALS (the same for an unknown email and a wrong password), RATE_LIMITED (too many failed sign-ins for this email or from this address, or too many password checks waiting: see retryAfterSeconds).',
  })
  async logIn(@Arg('email', () => String) email: string, @Arg('password', () => String) password: string, @Ctx() { services, clientIp }: Context): Promise<AuthPayload> {
    return services.accounts.logIn(email, password, clientIp);
  }

  @Authorized()
  @Query(() => UserNode, { description: 'The caller. Needs a token. Errors: UNAUTHENTICATED.' })
  async me(@Ctx() context: Context): Promise<UserNode> {
    return context.services.accounts.viewer(requireViewer(context));
  }
}
