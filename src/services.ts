import type { AccountService } from './accounts/account-service';
import type { ExistingAccounts } from './accounts/existing-accounts';
import type { SessionExpiries } from './auth/session-bound';
import type { TokenVerifier } from './auth/tokens';
import type { ConcertService } from './concerts/concert-service';
import type { Config } from './config';
import type { HoldService } from './holds/hold-service';
import type { InventoryService } from './inventory/inventory-service';
import type { CancellationService } from './payments/cancellation-service';
import type { Limits } from './limits';
import type { PaymentService } from './payments/payment-service';
import type { PointsService } from './points/points-service';
import type { LiveQueueStatus } from './queue/live-status';
import type { QueueService } from './queue/queue-service';
import type { SeatEvents } from './seats/seat-events';
import type { SeatMapService } from './seats/seat-map-service';

/** The domain services resolvers call; each rule lives in exactly one of them. */
export interface Services {
  config: Config;
  tokens: TokenVerifier;
  accounts: AccountService;
  existingAccounts: ExistingAccounts;
  /** Open subscriptions, ended when their token expires or their account is found deleted. */
  sessions: SessionExpiries;
  concerts: ConcertService;
  queue: QueueService;
  liveQueue: LiveQueueStatus;
  seatMap: SeatMapService;
  seatEvents: SeatEvents;
  holds: HoldService;
  points: PointsService;
  payments: PaymentService;
  cancellations: CancellationService;
  inventory: InventoryService;
  limits: Limits;
}
