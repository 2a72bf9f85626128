import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';

/**
 * Every GraphQL answer over HTTP is `cache-control: no-store`: it is one fan's own state (place in
 * line, holds, balance) or a catalogue whose counts move every second.
 *
 * Apollo's default cache-control plugin came to the same header (the schema declares no cache hints,
 * so no answer was ever cacheable), but it got there by hooking every resolved field: a policy object
 * and a few type checks per field, which graphql-js's development build makes slow. That was 2-3% of
 * an enterQueue or queueStatus request's CPU in the bench profiles, garbage aside, none of it changing
 * the answer; so the header is now set as the constant it was. Should a field ever need a cache hint,
 * put Apollo's plugin back instead.
 */
export function noStorePlugins(): ApolloServerPlugin[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    {
      async requestDidStart() {
        return {
          async willSendResponse({ response }) {
            response.http.headers.set('cache-control', 'no-store');
          },
        };
      },
    },
  ];
}
