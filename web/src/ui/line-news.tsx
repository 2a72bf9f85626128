import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { useClient, useQuery } from 'urql';
import { offPageNews, turnEnded } from '../logic/queue';
import { ConcertDetail, MyHolds, type QueueStatus } from '../operations';
import { useAnnounce } from './announcer';
import { pageHeading } from './focus';
import { useLineFeeds } from './line-feeds';

/**
 * News of the fan's lines while another page shows (offPageNews): said in the live region and shown
 * at the top of the page with a link to the concert, until the fan opens it or dismisses it. The
 * line feeds run on every page (the fan's presence), but only the concert's own page spoke of them:
 * a fan reading My tickets was never told their turn had come, while it ran out.
 */
export function LineNews({ shownConcertId }: { shownConcertId: string | undefined }) {
  const feeds = useLineFeeds();
  const announce = useAnnounce();
  const client = useClient();
  const [news, setNews] = useState<{ concertId: string; text: string } | null>(null);
  const seen = useRef(new Map<string, QueueStatus>());
  useEffect(() => {
    // A read of the holds answered after the page changed is no news any more: its concert's own page may be saying it.
    let current = true;
    const say = (concertId: string, text: string | undefined) => {
      if (!text || !current) return;
      announce(text);
      setNews({ concertId, text });
    };
    const look = () => {
      for (const concertId of feeds.concerts()) {
        const { status, lostFrom } = feeds.line(concertId);
        if (!status || seen.current.get(concertId) === status) continue;
        const before = seen.current.get(concertId);
        seen.current.set(concertId, status);
        // The concert's own page says it, in its waiting room.
        if (concertId === shownConcertId) continue;
        if (!turnEnded(before, status, lostFrom)) {
          say(concertId, offPageNews(before, status, lostFrom));
          continue;
        }
        // A turn that ended: seats held there can still be paid for, which the fan must hear, or
        // think them lost. Whether any are is one read away (its answer feeds the page's holds too).
        void client
          .query(MyHolds, {}, { requestPolicy: 'network-only' })
          .toPromise()
          .then(({ data }) => say(concertId, offPageNews(before, status, lostFrom, data?.me.holds.some((hold) => hold.seat.schedule.concert.id === concertId) ?? false)));
      }
    };
    look();
    const stop = feeds.subscribe(look);
    return () => {
      current = false;
      stop();
    };
  }, [feeds, announce, client, shownConcertId]);
  const opened = news !== null && news.concertId === shownConcertId;
  useEffect(() => {
    if (opened) setNews(null);
  }, [opened]);
  // The concert's name, from the cache when its page was read (one request otherwise).
  const [concert] = useQuery({ query: ConcertDetail, variables: { id: news?.concertId ?? '' }, pause: news === null, requestPolicy: 'cache-first' });
  if (news === null || opened) return null;
  const title = concert.data?.concert?.title;
  const dismiss = (event: MouseEvent<HTMLButtonElement>) => {
    // The button goes with the notice: the page's heading takes the focus, not <body>.
    pageHeading(event.currentTarget.closest('main'))?.focus({ preventScroll: true });
    setNews(null);
  };
  return (
    <p className="notice line-news" data-testid="line-news">
      {title ? `${title}: ` : ''}
      {news.text} <a href={`#/concerts/${encodeURIComponent(news.concertId)}`}>Open the concert</a>{' '}
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </p>
  );
}
