/** The compliance report (docs/REPORT.md): facts from the store (collect.ts), as JSON or one HTML page (html.ts). */
export { collectReport, DEFAULT_REPORT_PERIOD_MS, type ReportOptions } from './collect';
export { buildReport, sourceReports, type ReportInput, type SourcesInput } from './build';
export { sourceCompliance, type SourceCompliance } from './source-compliance';
export { rpoGaps } from './source-facts';
export { cronRpo } from './rpo';
export type * from './types';
export { renderReportHtml } from './html';
