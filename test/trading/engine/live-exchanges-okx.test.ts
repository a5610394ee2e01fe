import { okxKit } from '../../../harness/exchanges/exchange-kits';
import { liveSuite } from './live-exchanges.suite';

liveSuite(okxKit);
