export * from './data.js';
export { reportFigures, type Figure } from './figures.js';
export { accuracyLabel, escapeHtml, formatMeanStd, formatNumber, metricTitle } from './format.js';
export { RENDERER_VERSIONS, renderReportHtml, type RenderOptions } from './render.js';
export { paperTables, reportTables, reportTablesCsv, spaceDiffRows, tableToCsv, tableToMarkdown, type ReportTable, type TableCell } from './tables.js';
