import { okxKit } from '../../../harness/exchanges/exchange-kits';
import { inferredOrderSuite } from './inferred-order-live.suite';

inferredOrderSuite(okxKit);
