/**
 * The soak's PNG: RSS (solid), heap used (dashed) and heap total (dotted) of each daemon over simulated hours, drawn with the repo's
 * one chart stack (chart.js on @napi-rs/canvas, set up by src/ops/equity-chart.ts).
 */
import { loadChartLibs, whiteBackground } from '../../src/ops/equity-chart';
import { MIB, type DaemonResult } from './analysis';

const WIDTH = 1200;
const HEIGHT = 600;
const COLOURS: Record<string, string> = { trading: '#1f6fb2', telegram: '#c0392b' };

type ChartContext = ConstructorParameters<ReturnType<typeof loadChartLibs>['chart']['Chart']>[0];

export function renderSoakPlot(daemons: readonly DaemonResult[], title: string): Buffer {
  const { canvas, chart } = loadChartLibs();
  const surface = canvas.createCanvas(WIDTH, HEIGHT);
  const hours = (simMs: number): number => simMs / 3_600_000;
  const datasets = daemons.flatMap((d) => {
    const colour = COLOURS[d.name] ?? '#555';
    return [
      {
        label: `${d.name} RSS`,
        data: d.samples.map((s) => ({ x: hours(s.simMs), y: s.rssBytes / MIB })),
        borderColor: colour,
        borderWidth: 2,
        pointRadius: 0,
      },
      {
        label: `${d.name} heap used`,
        data: d.samples.map((s) => ({ x: hours(s.simMs), y: s.heapUsedBytes / MIB })),
        borderColor: colour,
        borderDash: [6, 4],
        borderWidth: 1.5,
        pointRadius: 0,
      },
      // V8's committed heap: the part of RSS the heap accounts for (RSS minus it is native memory and the binary)
      ...(d.samples.some((s) => s.heapTotalBytes !== undefined)
        ? [
            {
              label: `${d.name} heap total`,
              data: d.samples
                .filter((s) => s.heapTotalBytes !== undefined)
                .map((s) => ({ x: hours(s.simMs), y: s.heapTotalBytes! / MIB })),
              borderColor: colour,
              borderDash: [2, 3],
              borderWidth: 1,
              pointRadius: 0,
            },
          ]
        : []),
    ];
  });
  const drawing = new chart.Chart(surface.getContext('2d') as unknown as ChartContext, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      layout: { padding: 16 },
      plugins: {
        legend: { position: 'bottom', labels: { font: { size: 14 } } },
        title: { display: true, text: title, font: { size: 20, weight: 'bold' }, color: '#222' },
      },
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: 'simulated hours', font: { size: 14 } },
          ticks: { font: { size: 14 } },
          grid: { color: '#e6e6e6' },
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: 'MiB', font: { size: 14 } },
          ticks: { font: { size: 14 } },
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
