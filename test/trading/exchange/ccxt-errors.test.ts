import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AuthenticationError,
  ExchangeRefusedError,
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  StrategyError,
  TemporaryError,
} from '../../../src/shared/errors';
import {
  CCXT_ERROR_TABLE,
  errorBodySummary,
  isCcxtError,
  scrubMessage,
  summaryCodePattern,
  translateCcxtError,
} from '../../../src/trading/exchange/ccxt-errors';
import { bybitProfile } from '../../../src/trading/exchange/profiles/bybit';

type ErrorClasses = Record<string, new (message: string) => Error> & {
  BaseError: new (message: string) => Error;
};

const EXPECTED: Array<[string, new (...args: never[]) => Error]> = [
  ['RequestTimeout', NetworkError],
  ['NetworkError', NetworkError],
  ['BadResponse', NetworkError],
  ['DDoSProtection', RateLimitError],
  ['RateLimitExceeded', RateLimitError],
  ['ExchangeNotAvailable', ExchangeUnavailableError],
  ['OnMaintenance', ExchangeUnavailableError],
  ['InvalidNonce', TemporaryError],
  ['AuthenticationError', AuthenticationError],
  ['PermissionDenied', PermissionDeniedError],
  ['AccountSuspended', PermissionDeniedError],
  ['InsufficientFunds', InsufficientFundsError],
  ['InvalidOrder', InvalidOrderError],
  ['OrderNotFillable', InvalidOrderError],
  ['BadSymbol', InvalidOrderError],
  ['OrderNotFound', OrderNotFoundError],
];

describe('ccxt error translation', () => {
  const builds: Record<string, ErrorClasses> = {};

  before(async () => {
    const ccxtMain = require.resolve('ccxt');
    const esmErrors = path.join(path.dirname(ccxtMain), '..', 'js', 'src', 'base', 'errors.js');
    builds['per-exchange ES modules'] = (await import(pathToFileURL(esmErrors).href)) as ErrorClasses;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    builds['full CommonJS bundle'] = require('ccxt') as ErrorClasses;
  });

  for (const build of ['per-exchange ES modules', 'full CommonJS bundle']) {
    it(`maps each ccxt class of the ${build} to the project's error class`, () => {
      for (const [ccxtName, projectClass] of EXPECTED) {
        const Ctor = builds[build][ccxtName];
        const translated = translateCcxtError(new Ctor(`binance ${ccxtName} happened`), {
          context: { symbol: 'BTC/USDT' },
        });
        expect(translated, ccxtName).to.be.instanceOf(projectClass);
        expect((translated as StrategyError).context).to.include({ symbol: 'BTC/USDT', ccxtError: ccxtName });
      }
    });
  }

  it('classifies ccxt errors into the policy classes (temporary vs operational vs invalid order)', () => {
    const e = builds['per-exchange ES modules'];
    expect(translateCcxtError(new e.RequestTimeout('x'))).to.be.instanceOf(TemporaryError);
    expect(translateCcxtError(new e.AccountSuspended('x'))).to.not.be.instanceOf(TemporaryError);
    expect(translateCcxtError(new e.OrderNotFound('x'))).to.not.be.instanceOf(InvalidOrderError);
  });

  it('has an explicit entry for every error class ccxt exports, so none reaches the engine as a plain Error', () => {
    for (const build of Object.keys(builds)) {
      const classes = Object.entries(builds[build]).filter(
        ([, v]) => typeof v === 'function' && v.prototype instanceof builds[build].BaseError,
      );
      expect(classes.length, build).to.be.greaterThan(35);
      for (const [name] of classes) {
        expect(CCXT_ERROR_TABLE, `${build}: ${name}`).to.have.property(name);
      }
    }
  });

  it('turns a refusal ccxt has no finer class for into ExchangeRefusedError that names the ccxt class', () => {
    const e = builds['per-exchange ES modules'];
    for (const name of [
      'NotSupported',
      'BadRequest',
      'ArgumentsRequired',
      'OperationRejected',
      'ExchangeError',
    ]) {
      const translated = translateCcxtError(new e[name](`binance {"code":-9999} ${name}`));
      expect(translated, name).to.be.instanceOf(ExchangeRefusedError);
      expect((translated as ExchangeRefusedError).context.ccxtError).to.equal(name);
    }
    // Binance -1013 "Filter failure: NOTIONAL" arrives as BadRequest: a refusal, not a crash
    expect(translateCcxtError(new e.BadRequest('binance {"code":-1013}'))).to.not.be.instanceOf(
      TemporaryError,
    );
  });

  it('keeps the HTTP status of the answer that carried the error', () => {
    const e = builds['per-exchange ES modules'];
    const err = Object.assign(new e.ExchangeError('binance {"code":-1}'), { httpStatus: 503 });
    expect((translateCcxtError(err) as ExchangeRefusedError).context.httpStatus).to.equal(503);
  });

  it("keeps the exchange's own error code the adapter recorded (Bybit retCode with HTTP 200)", () => {
    const e = builds['per-exchange ES modules'];
    const err = Object.assign(new e.InvalidOrder('bybit {"retCode":170146}'), {
      httpStatus: 200,
      exchangeCode: '170146',
    });
    expect((translateCcxtError(err) as InvalidOrderError).context).to.include({
      httpStatus: 200,
      exchangeCode: '170146',
    });
  });

  it('passes errors that are not from ccxt through untouched', () => {
    const own = new InvalidOrderError('below minimum', { symbol: 'BTC/USDT' });
    expect(translateCcxtError(own)).to.equal(own);
    const bug = new TypeError('x is undefined');
    expect(translateCcxtError(bug)).to.equal(bug);
    expect(isCcxtError(bug)).to.equal(false);
  });

  it('attaches retryAfterMs to temporary errors', () => {
    const e = builds['per-exchange ES modules'];
    const translated = translateCcxtError(new e.DDoSProtection('binance 429'), { retryAfterMs: 2_000 });
    expect((translated as RateLimitError).retryAfterMs).to.equal(2_000);
  });

  it('scrubs query strings, signatures and literal secrets from messages', () => {
    const message =
      'binance GET https://api.binance.com/api/v3/account?timestamp=1700000000000&recvWindow=5000&signature=abcdef0123 request timed out; apiKey=SECRETKEY123 sent with MYSECRETVALUE';
    const scrubbed = scrubMessage(message, ['MYSECRETVALUE', undefined]);
    expect(scrubbed).to.equal(
      'binance GET https://api.binance.com/api/v3/account?[query removed] request timed out; apiKey=[redacted] sent with [redacted]',
    );
    const e = builds['per-exchange ES modules'];
    const translated = translateCcxtError(new e.RequestTimeout(message), { secrets: ['MYSECRETVALUE'] });
    expect(translated.message).to.not.match(/signature=|MYSECRETVALUE|SECRETKEY123|timestamp=/);
    expect((translated as NetworkError).cause).to.equal(undefined);
  });

  describe("an exchange's error body read as `<id> <code>: <message>` (its profile's errorBody)", () => {
    const okx = errorBodySummary('okx', [
      { code: 'data.0.sCode', message: 'data.0.sMsg' },
      { code: 'code', message: 'msg' },
    ]);

    it("Bybit: the same refusal reads the same whatever the server time in its body (its profile's errorBody)", () => {
      const bybit = errorBodySummary('bybit', bybitProfile.errorBody ?? []);
      const refusal = (time: number): string =>
        `bybit {"retCode":170140,"retMsg":"Order value exceeded lower limit","result":{},"retExtInfo":{},"time":${time}}`;
      expect(bybit(refusal(1796187071589))).to.equal('bybit 170140: Order value exceeded lower limit');
      expect(bybit(refusal(1796187071590))).to.equal(bybit(refusal(1796187071589)));
    });

    it("reads Bybit's refusal of an order too large for the book by its code in the kept text (depthRefusalCodes)", () => {
      const bybit = errorBodySummary('bybit', bybitProfile.errorBody ?? []);
      const depth = summaryCodePattern('bybit', bybitProfile.depthRefusalCodes ?? []);
      const answer = (retCode: number, retMsg: string): string =>
        bybit(
          `bybit ${JSON.stringify({ retCode, retMsg, result: {}, retExtInfo: {}, time: 1796187071589 })}`,
        );
      const sell =
        'Your order quantity to sell is too large. The filled price may deviate significantly from the market price. Please try again';
      expect(depth.test(answer(170198, sell))).to.equal(true);
      expect(depth.test(answer(170197, sell.replace('sell', 'buy')))).to.equal(true);
      // the market's largest order, another exchange's text, or the code inside another message: not the book's depth
      expect(depth.test(answer(170381, 'Order quantity too large.'))).to.equal(false);
      expect(depth.test('okx 170198: x')).to.equal(false);
      expect(depth.test('bybit 1701980: x')).to.equal(false);
    });

    it('takes the per-order code first, without the echoes of the request', () => {
      const body = {
        code: '1',
        msg: '',
        data: [
          { clOrdId: 'bot1', ordId: '', ts: '1695190491421', sCode: '51008', sMsg: 'Insufficient USDT' },
        ],
        inTime: '1695190491421339',
      };
      expect(okx(`okx ${JSON.stringify(body)}`)).to.equal('okx 51008: Insufficient USDT');
    });

    it('falls back to the request-level code, and skips a success code', () => {
      expect(okx('okx {"code":"51603","msg":"Order does not exist.","data":[]}')).to.equal(
        'okx 51603: Order does not exist.',
      );
      expect(okx('okx {"code":"1","msg":"","data":[{"sCode":"0","sMsg":""}]}')).to.equal('okx 1:');
    });

    it('keeps any other message as it is (no JSON body, another exchange, a body without the fields)', () => {
      for (const message of [
        'okx GET http://127.0.0.1/api/v5/trade/order 502 Bad Gateway ',
        'binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}',
        'okx {"error":"x"}',
        'okx {not json',
      ]) {
        expect(okx(message)).to.equal(message);
      }
    });

    it('is applied by the translation before the scrub', () => {
      const e = builds['per-exchange ES modules'];
      const translated = translateCcxtError(
        new e.InvalidOrder('okx {"code":"1","data":[{"sCode":"51020","sMsg":"SECRETVALUE too small"}]}'),
        { summarize: okx, secrets: ['SECRETVALUE'] },
      );
      expect(translated.message).to.equal('okx 51020: [redacted] too small');
    });
  });
});
