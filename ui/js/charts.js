// SPDX-License-Identifier: MIT
// charts: the plain-SVG charts of the model page (per-label bars, confusion
// heat maps), built with DOM APIs only. Every text that comes from data (a
// label, a class) goes in as a text node, never as markup. Each chart is a
// <figure> with an SVG that carries its own <title> and <desc>, and a table
// with the same numbers beside it (in a <details>), so a screen reader and a
// keyboard user get every value. Colours come from CSS classes (model.css),
// which follow the light or dark colour scheme; no inline style is used (the
// page's Content-Security-Policy allows none).

import { h } from './dom.js';

let nextId = 0;

// A unique id for aria-labelledby (one page may hold several charts).
function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// An SVG element (dom.js's h with the svg: prefix: attributes that are
// null or false left out, children as nodes or text).
export function svg(tag, attrs, ...children) {
  return h(`svg:${tag}`, attrs, ...children);
}

const html = h;

// A number in [0, 1] with two decimals ("0.61"); "–" when absent.
export function fmt2(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '–';
}

// A rough width in pixels of text at the charts' 13 px font (the layout is
// decided before the SVG is in the document, so it cannot be measured).
function textWidth(s) {
  return Array.from(String(s)).length * 7.4;
}

// s cut to about px pixels, with an ellipsis when it was longer.
function fit(s, px) {
  const cps = Array.from(String(s));
  const keep = Math.floor(px / 7.4);
  return cps.length <= keep ? String(s) : `${cps.slice(0, Math.max(1, keep - 1)).join('')}…`;
}

// The table alternative of a chart: a <details> holding a <table>.
function tableAlt(summary, caption, head, rows) {
  return html('details', { class: 'chart-table' },
    html('summary', {}, summary),
    html('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption },
      html('table', {},
        html('caption', {}, caption),
        html('thead', {}, html('tr', {}, head.map((x, i) =>
          html('th', { scope: 'col', class: i > 0 ? 'num' : null }, x)))),
        html('tbody', {}, rows.map((r) => html('tr', {}, r.map((x, i) =>
          (i === 0 ? html('th', { scope: 'row' }, x) : html('td', { class: 'num' }, x)))))))));
}

// A horizontal grouped bar chart of values in [0, max] (default 1): one group
// per row, one bar per series. Widths are percentages of the SVG's width, so
// the chart fills its column at any screen width without scaling its text.
//   opts.title, opts.desc: the chart's name and a sentence that sums it up
//   opts.series: [{key, name}] (at most 4; colours .series-0 …)
//   opts.rows: [{label, note?, values: {key: number}, extra?: [cells]}]
//   opts.extraHead: headers of the table's extra columns (e.g. support)
// Returns a <figure>.
export function barChart(opts) {
  const max = opts.max || 1;
  const series = opts.series;
  const barH = 10;
  const barGap = 2;
  const labelH = 19;
  const groupGap = 11;
  const axisH = 22;
  const span = 84; // percent of the width that 1.0 spans; the rest holds values
  const groupH = labelH + series.length * (barH + barGap) + groupGap;
  const height = axisH + opts.rows.length * groupH;
  const tid = uid('chart-title');
  const did = uid('chart-desc');

  const grid = [];
  for (let i = 0; i <= 4; i++) {
    const x = `${(span * i) / 4}%`;
    grid.push(svg('line', { class: 'grid', x1: x, x2: x, y1: axisH - 4, y2: height - groupGap / 2 }));
    grid.push(svg('text', { class: 'axis', x, y: 12, 'text-anchor': i === 0 ? 'start' : 'middle' },
      fmt2((max * i) / 4)));
  }

  const groups = opts.rows.map((row, r) => {
    const y0 = axisH + r * groupH;
    const bars = series.map((s, i) => {
      const v = row.values[s.key];
      const frac = typeof v === 'number' && v > 0 ? Math.min(v / max, 1) : 0;
      const y = y0 + labelH + i * (barH + barGap);
      return svg('g', {},
        svg('title', {}, `${row.label}: ${s.name} ${fmt2(v)}`),
        // a zero still gets a sliver, so the bar is seen to be there
        svg('rect', { class: `bar series-${i}`, x: 0, y, height: barH, rx: 2,
          width: frac > 0 ? `${(span * frac).toFixed(3)}%` : 2 }),
        svg('text', { class: 'value', x: `${(span * frac).toFixed(3)}%`, dx: 6, y: y + barH - 1 },
          fmt2(v)));
    });
    return svg('g', { class: 'group' },
      svg('text', { class: 'label', x: 0, y: y0 + labelH - 6 },
        svg('title', {}, row.label), row.label, row.note ? svg('tspan', { class: 'note' }, ` ${row.note}`) : null),
      bars);
  });

  const chart = svg('svg', {
    class: 'mp-chart bar-chart', width: '100%', height, role: 'img',
    'aria-labelledby': `${tid} ${did}`,
  },
  svg('title', { id: tid }, opts.title),
  svg('desc', { id: did }, opts.desc),
  grid, groups);

  const legend = html('ul', { class: 'legend', 'aria-hidden': 'true' },
    series.map((s, i) => html('li', {}, html('span', { class: `swatch series-${i}` }), s.name)));

  const head = ['Label', ...series.map((s) => s.name), ...(opts.extraHead || [])];
  const rows = opts.rows.map((row) => [
    row.note ? `${row.label} ${row.note}` : row.label,
    ...series.map((s) => fmt2(row.values[s.key])),
    ...(row.extra || []).map(String),
  ]);
  return html('figure', { class: 'chart-figure' },
    html('figcaption', {}, opts.title),
    legend, chart,
    tableAlt('Show the numbers as a table', opts.title, head, rows));
}

// The shade (0 … 5) of a cell holding `share` of its row.
function shade(count, share) {
  if (count === 0) return 0;
  return Math.min(5, 1 + Math.floor(share * 5 - 1e-9));
}

// A confusion-matrix heat map: rows are the gold (actual) labels, columns
// the predicted ones; a cell's shade is its share of its row (so the
// diagonal shows each label's recall), its text the count.
//   opts.title, opts.desc, opts.labels: [string], opts.matrix: [[int]]
//   opts.rowName, opts.colName: what rows and columns are ("Actual", …)
// The SVG has its natural size in pixels and scrolls sideways in its box
// when it is wider than the screen (the box is keyboard focusable).
// Returns a <figure>.
export function heatMap(opts) {
  const labels = opts.labels;
  const n = labels.length;
  const m = opts.matrix;
  const rowName = opts.rowName || 'Actual';
  const colName = opts.colName || 'Predicted';
  const cell = 52;
  const longest = Math.max(...labels.map(textWidth), 0);
  const left = Math.min(190, Math.ceil(longest) + 30);
  const tilt = longest > cell - 8; // column labels turned when they would overlap
  const top = 22 + (tilt ? Math.min(150, Math.ceil(longest * 0.72) + 14) : 20);
  const width = left + n * cell + (tilt ? Math.ceil(Math.min(longest, 150 / 0.72) * 0.77) : 8);
  const height = top + n * cell + 8;
  const tid = uid('heat-title');
  const did = uid('heat-desc');

  const parts = [];
  parts.push(svg('text', { class: 'axis-title', x: left + (n * cell) / 2, y: 14, 'text-anchor': 'middle' },
    colName));
  parts.push(svg('text', {
    class: 'axis-title', x: 0, y: 0, 'text-anchor': 'middle',
    transform: `translate(12 ${top + (n * cell) / 2}) rotate(-90)`,
  }, rowName));
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(tilt
      ? svg('text', { class: 'label', x: 0, y: 0, transform: `translate(${x + 4} ${top - 8}) rotate(-40)` },
        svg('title', {}, l), fit(l, 150 / 0.72))
      : svg('text', { class: 'label', x, y: top - 8, 'text-anchor': 'middle' }, l));
  });
  labels.forEach((l, i) => {
    const y = top + i * cell;
    const rowSum = (m[i] || []).reduce((a, b) => a + b, 0);
    parts.push(svg('text', { class: 'label', x: left - 8, y: y + cell / 2 + 4, 'text-anchor': 'end' },
      svg('title', {}, l), fit(l, left - 30)));
    labels.forEach((l2, j) => {
      const count = (m[i] && m[i][j]) || 0;
      const share = rowSum > 0 ? count / rowSum : 0;
      const k = shade(count, share);
      const x = left + j * cell;
      const pct = rowSum > 0 ? ` (${Math.round(share * 100)} % of ${l})` : '';
      parts.push(svg('g', { class: i === j ? 'cell diagonal' : 'cell' },
        svg('title', {}, `${rowName} ${l}, ${colName.toLowerCase()} ${l2}: ${count}${pct}`),
        svg('rect', { class: `heat-${k}`, x: x + 1, y: y + 1, width: cell - 2, height: cell - 2, rx: 3 }),
        svg('text', { class: `count heat-text-${k}`, x: x + cell / 2, y: y + cell / 2 + 5, 'text-anchor': 'middle' },
          String(count))));
    });
  });

  const chart = svg('svg', {
    class: 'mp-chart heat-map', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${tid} ${did}`,
  },
  svg('title', { id: tid }, opts.title),
  svg('desc', { id: did }, opts.desc),
  parts);

  const head = [`${rowName} \\ ${colName.toLowerCase()}`, ...labels];
  const rows = labels.map((l, i) => [l, ...labels.map((_, j) => String((m[i] && m[i][j]) || 0))]);
  return html('figure', { class: 'chart-figure' },
    html('figcaption', {}, opts.title),
    html('div', { class: 'chart-scroll', tabindex: '0', role: 'region', 'aria-label': `${opts.title} (scrolls sideways)` },
      chart),
    html('p', { class: 'chart-key' },
      'Shade: the share of each actual label’s test items that landed in the cell; the diagonal is right.'),
    tableAlt('Show the matrix as a table', opts.title, head, rows));
}
