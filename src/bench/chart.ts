/**
 * The chart: pairs per second against CPUs, one line per mode (and kernel),
 * the median with a bar from min to max. Hand-written SVG, no dependency.
 * Pure: the kernels' points in, the SVG text out.
 */
import type { KernelBench } from './report.js';

const COLORS: Record<string, string> = {
  dev_hold: '#1f77b4',
  percpu: '#2ca02c',
  atomic: '#d62728',
  refcount: '#ff7f0e',
};
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for the y axis: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

export function benchChart(kernels: readonly KernelBench[], title: string): string {
  const W = 720;
  const H = 440;
  const L = 80;
  const R = 250;
  const T = 50;
  const B = 60;
  const pw = W - L - R;
  const ph = H - T - B;
  const points = kernels.flatMap((k) => k.points);
  const maxCpus = Math.max(1, ...points.map((p) => p.cpus));
  const maxY = Math.max(1, ...points.map((p) => p.pairsPerSec.max)) / 1e6;
  const step = niceStep(maxY, 5);
  const top = Math.ceil(maxY / step) * step;
  // Half a column of margin each side, so no marker sits on an axis.
  const x = (cpus: number): number => L + ((cpus - 0.5) / maxCpus) * pw;
  const y = (mps: number): number => T + ph - (mps / top) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(3)}</text>`);
  }
  for (let c = 1; c <= maxCpus; c++) {
    out.push(`<text x="${x(c).toFixed(1)}" y="${T + ph + 18}" text-anchor="middle">${c}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="black"/>`);
  out.push(`<text x="${L + pw / 2}" y="${H - 18}" text-anchor="middle">CPUs running pairs at once</text>`);
  out.push(`<text transform="translate(20 ${T + ph / 2}) rotate(-90)" text-anchor="middle">million pairs per second (all CPUs)</text>`);
  let legend = 0;
  kernels.forEach((k, ki) => {
    const modes = [...new Set(k.points.map((p) => p.mode))];
    for (const mode of modes) {
      const pts = k.points.filter((p) => p.mode === mode).sort((a, b) => a.cpus - b.cpus);
      const color = COLORS[mode] ?? 'black';
      const dash = DASHES[ki % DASHES.length] ?? '';
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.cpus).toFixed(1)},${y(p.pairsPerSec.median / 1e6).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
      for (const p of pts) {
        const px = x(p.cpus).toFixed(1);
        out.push(`<line x1="${px}" x2="${px}" y1="${y(p.pairsPerSec.min / 1e6).toFixed(1)}" y2="${y(p.pairsPerSec.max / 1e6).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
        out.push(`<circle cx="${px}" cy="${y(p.pairsPerSec.median / 1e6).toFixed(1)}" r="3" fill="${color}"/>`);
      }
      const ly = T + 10 + legend * 18;
      out.push(`<line x1="${L + pw + 15}" x2="${L + pw + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
      const label = kernels.length > 1 ? `${mode} (${k.variant})` : mode;
      out.push(`<text x="${L + pw + 46}" y="${ly + 4}">${esc(label)}</text>`);
      legend++;
    }
  });
  const accel = [...new Set(kernels.map((k) => k.accel.accel))].join('/');
  out.push(`<text x="${L + pw + 15}" y="${T + 20 + legend * 18}" fill="#555">${esc(`accelerator: ${accel}`)}</text>`);
  out.push(`<text x="${L + pw + 15}" y="${T + 38 + legend * 18}" fill="#555">dot: median; bar: min-max</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
