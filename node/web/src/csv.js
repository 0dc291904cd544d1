// csv.js - the page's CSV downloads (RFC 4180, CRLF), with the node's
// formula guard (spec/crm.md §1 "Formulas"): a cell that is k >= 0
// apostrophes, then one of = + - @ tab CR, and is not a plain decimal
// number once the apostrophes are gone, gets one apostrophe in front, so
// a partner's =HYPERLINK(...) in a shared field does not run in the
// spreadsheet that opens the file.

const FORMULA = /^'*[=+\-@\t\r]/;
const NUMBER = /^[+-]?[0-9]+(\.[0-9]+)?$/;

export function csvCell(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (FORMULA.test(s) && !NUMBER.test(s.replace(/^'*/, ''))) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Offers rows (arrays of cells) as the download NAME.
export function downloadCsv(name, rows) {
  const text = rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  const url = URL.createObjectURL(new Blob([text], {type: 'text/csv'}));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
