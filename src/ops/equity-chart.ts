/**
 * The equity curve of a report as a PNG, drawn in-process: chart.js (the maintained charting library) on a
 * Skia canvas from @napi-rs/canvas, whose prebuilt binary npm installs as an optional dependency for the
 * platform — no browser, no build step, no system library. Sized for a phone (960×540, large type). The font is
 * bundled (@fontsource/dejavu-sans) so a server without fonts still labels the axes.
 *
 * Both libraries are loaded on the first chart only: a daemon that never draws one never loads Skia.
 */
import type { PnlReport } from '../shared/ipc/protocol';

export const CHART_WIDTH = 960;
export const CHART_HEIGHT = 540;
const FONT = 'ByNinja DejaVu Sans';

type CanvasModule = typeof import('@napi-rs/canvas');
type ChartModule = typeof import('chart.js');
/** chart.js types its context as the DOM's; Skia's context is that API. */
type ChartContext = ConstructorParameters<ChartModule['Chart']>[0];
let libs: { canvas: CanvasModule; chart: ChartModule } | undefined;

/** The chart stack, set up once (fonts registered, chart.js components registered); other charts reuse it. */
export function loadChartLibs(): { canvas: CanvasModule; chart: ChartModule } {
  if (libs) return libs;
  // loaded here, not at the top: a daemon that never draws a chart never loads Skia
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const canvas = require('@napi-rs/canvas') as CanvasModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const chart = require('chart.js') as ChartModule;
  chart.Chart.register(...chart.registerables);
  for (const weight of ['400', '700']) {
    try {
      canvas.GlobalFonts.registerFromPath(
        require.resolve(`@fontsource/dejavu-sans/files/dejavu-sans-latin-${weight}-normal.woff2`),
        FONT,
      );
    } catch {
      // the system's fonts, then: the chart still draws
    }
  }
  chart.Chart.defaults.font.family = `"${FONT}", "DejaVu Sans", sans-serif`;
  libs = { canvas, chart };
  return libs;
}

/** Paints the canvas white before drawing (a PNG is transparent otherwise, unreadable in a dark theme). */
export const whiteBackground = {
  id: 'white-background',
  beforeDraw: (c: { ctx: CanvasRenderingContext2DLike; width: number; height: number }): void => {
    const g = c.ctx;
    g.save();
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, c.width, c.height);
    g.restore();
  },
};
interface CanvasRenderingContext2DLike {
  save(): void;
  restore(): void;
  fillStyle: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** "12 Mar" or "14:05" for an x tick, depending on the span shown. */
function tickLabel(ts: number, spanMs: number): string {
  const d = new Date(ts);
  if (spanMs <= 2 * 86_400_000) return d.toISOString().slice(11, 16);
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** The PNG (starts with the PNG signature), CHART_WIDTH × CHART_HEIGHT. */
export function renderEquityChart(report: PnlReport): Buffer {
  const { canvas, chart } = loadChartLibs();
  const surface = canvas.createCanvas(CHART_WIDTH, CHART_HEIGHT);
  const points = report.curve.map(([x, y]) => ({ x, y }));
  const first = points[0]?.x ?? report.generatedAt;
  const span = Math.max(1, report.generatedAt - first);
  const up = (points[points.length - 1]?.y ?? 0) >= (points[0]?.y ?? 0);
  const q = report.quoteCurrency;
  const all = report.periods.all;
  const drawing = new chart.Chart(surface.getContext('2d') as unknown as ChartContext, {
    type: 'line',
    data: {
      datasets: [
        {
          label: `Equity (${q})`,
          data: points,
          borderColor: up ? '#1a8f5a' : '#c0392b',
          backgroundColor: up ? 'rgba(26,143,90,0.12)' : 'rgba(192,57,43,0.12)',
          fill: true,
          borderWidth: 3,
          pointRadius: points.length <= 30 ? 3 : 0,
          tension: 0,
        },
      ],
    },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      layout: { padding: 16 },
      plugins: {
        legend: { display: false },
        title: {
          display: true,
          text: `Equity ${q} · realized ${all.realized >= 0 ? '+' : ''}${all.realized.toFixed(2)} · ${all.trades} trades`,
          font: { size: 24, weight: 'bold' },
          color: '#222',
        },
        subtitle: {
          display: true,
          text: `max drawdown ${report.maxDrawdown.amount.toFixed(2)}${report.maxDrawdown.pct !== null ? ` (${report.maxDrawdown.pct.toFixed(1)}%)` : ''} · ${new Date(report.generatedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
          font: { size: 16 },
          color: '#555',
          padding: { bottom: 12 },
        },
      },
      scales: {
        x: {
          type: 'linear',
          min: first,
          max: report.generatedAt,
          ticks: { font: { size: 16 }, maxTicksLimit: 6, callback: (v) => tickLabel(Number(v), span) },
          grid: { color: '#e6e6e6' },
        },
        y: {
          ticks: { font: { size: 16 }, maxTicksLimit: 6 },
          grid: { color: '#e6e6e6' },
        },
      },
    },
    plugins: [whiteBackground],
  });
  try {
    return surface.toBuffer('image/png');
  } finally {
    drawing.destroy();
  }
}
