// The incident panel: the incident, its findings per reading (verdict, rules, reasons),
// its member reports as the server shows them to this reader, the monitors' reviews and the
// parties' contests, and for each report a button that checks its entry against the log's
// latest checkpoint (verify.js). Every value is untrusted text: it goes in with textContent
// only.

import { formatTime, t, term } from './i18n.js';

/** An element with optional class and text. */
export function el(tag, { className, text } = {}, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

/** A verdict with its colour swatch and its name. */
export function verdictBadge(verdict) {
  const badge = el('span', { className: 'verdict' });
  const swatch = el('span', { className: 'swatch' });
  swatch.dataset.verdict = verdict;
  swatch.setAttribute('aria-hidden', 'true');
  badge.append(swatch, el('span', { text: term('verdict', verdict) }));
  return badge;
}

/** A definition list from [label, value] pairs (values absent or empty are left out). */
function facts(pairs) {
  const list = el('dl', { className: 'facts' });
  for (const [label, value] of pairs) {
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    const shown = Array.isArray(value) ? value.join(', ') : value;
    list.append(el('dt', { text: label }), typeof shown === 'object' ? el('dd', {}, shown) : el('dd', { text: shown }));
  }
  return list;
}

function casualtyText(c) {
  if (!c) return '';
  const parts = [
    ['casualties.civilian_killed', c.civilian_killed],
    ['casualties.civilian_injured', c.civilian_injured],
    ['casualties.military_killed', c.military_killed],
    ['casualties.military_injured', c.military_injured],
    ['casualties.unspecified_killed', c.unspecified_killed],
  ]
    .filter(([, n]) => n > 0)
    .map(([key, n]) => t(key, { n }));
  return parts.length ? parts.join(', ') : t('casualties.none');
}

function locationText(location) {
  if (!location) return t('location.hidden');
  const base = `${location.lat.toFixed(4)}, ${location.lon.toFixed(4)} ± ${Math.round(location.radius_m)} m`;
  return location.coarsened ? `${base} (${t('location.coarsened')})` : base;
}

function findingSection(finding) {
  const section = el('section', { className: 'finding' });
  section.append(el('h4', { text: t('panel.reading', { name: finding.interpretation }) }));
  const verdict = el('p', {}, verdictBadge(finding.verdict));
  if (finding.reason) verdict.append(el('span', { text: ` — ${term('reason', finding.reason)}` }));
  section.append(verdict);
  section.append(
    facts([
      [t('finding.parties'), finding.parties],
      [t('finding.rules'), finding.rules],
      [t('finding.exceptions'), finding.exceptions],
      [t('finding.zones'), finding.zones],
      [t('finding.missing'), finding.missing],
      [t('finding.established'), finding.established ? t('yes') : t('no')],
      [t('finding.target'), term('target', finding.target)],
      [t('finding.site'), finding.site],
    ]),
  );
  section.append(el('h5', { text: t('finding.reasons') }));
  const reasons = el('ol', { className: 'reasons' });
  for (const reason of finding.reasons ?? []) reasons.append(el('li', { text: reason }));
  section.append(reasons);
  return section;
}

/** The outcome of a report's proof check (`result` of verify.js's verifyReport) in `holder`. */
export function renderProof(holder, result, zone) {
  holder.replaceChildren();
  delete holder.dataset.outcome;
  if (result.state === 'working') {
    holder.append(el('p', { className: 'hint', text: t('verify.working') }));
    return;
  }
  if (result.state === 'error') {
    holder.append(el('p', { className: 'proof-verdict failed', text: `✗ ${t('verify.error', { message: result.message })}` }));
    holder.dataset.outcome = 'failed';
    return;
  }
  holder.dataset.outcome = result.ok ? 'verified' : 'failed';
  const verdict = result.ok
    ? `✓ ${t('verify.ok', { report: result.reportId, index: result.index, size: String(result.size) })}`
    : `✗ ${t('verify.failed', { problems: result.problems.map((p) => t(p.key, p.params ?? {})).join('; ') })}`;
  holder.append(el('p', { className: `proof-verdict ${result.ok ? 'verified' : 'failed'}`, text: verdict }));
  // The key's name and id (the base64 of the key itself may hold a '+').
  const key = result.vkey.match(/^[^+]+\+[0-9a-fA-F]{8}/)?.[0] ?? result.vkey;
  const cosigners = result.signers.filter((s) => s.role !== 'log');
  const witnessList = el('ul', { className: 'witnesses' });
  for (const signer of cosigners) {
    const text =
      signer.role === 'cosigner'
        ? t('verify.cosigner', { name: signer.name, id: signer.keyId, time: formatTime(signer.time * 1000, zone) })
        : t('verify.other_signer', { name: signer.name, id: signer.keyId });
    witnessList.append(el('li', { text }));
  }
  const rows = [
    [t('verify.checkpoint'), t('verify.checkpoint_value', { origin: result.origin, size: String(result.size), root: result.root.slice(0, 16) })],
    [t('verify.signature'), t(`verify.sig.${result.signature}`, { key })],
  ];
  const cosign = result.cosign;
  if (cosign && (cosign.published > 0 || cosign.state !== 'none')) {
    rows.push(...cosignRows(cosign, result.index, zone));
    // Lines on the latest checkpoint besides the log's (the service signs it alone).
    if (cosigners.length > 0) rows.push([t('verify.latest_signers'), witnessList]);
  } else {
    rows.push([t('verify.witnesses'), cosigners.length === 0 ? t('verify.no_witnesses') : witnessList]);
  }
  holder.append(facts(rows), el('p', { className: 'hint', text: t('verify.key_note') }));
}

/** The rows that say what the check against the co-signed checkpoint found. */
function cosignRows(cosign, index, zone) {
  if (cosign.state === 'none') return [[t('verify.witnesses'), t('verify.cosign.none')]];
  if (cosign.state === 'behind') return [[t('verify.witnesses'), t('verify.cosign.behind', { size: String(cosign.size), index })]];
  if (cosign.state === 'error') return [[t('verify.witnesses'), t('verify.cosign.error')]];
  const list = el('ul', { className: 'witnesses cosigned' });
  for (const witness of cosign.witnesses) {
    const time = witness.time === null ? '' : formatTime(witness.time * 1000, zone);
    const item = el('li', { text: t(`verify.cosign.${witness.status}`, { name: witness.name, id: witness.keyId, time }) });
    item.dataset.witness = witness.name;
    item.dataset.status = witness.status;
    list.append(item);
  }
  const proof = cosign.included ? 'verify.cosign.included' : 'verify.cosign.not_included';
  return [
    [
      t('verify.cosigned_checkpoint'),
      `${t('verify.cosign.checkpoint_value', { size: String(cosign.size), root: cosign.root.slice(0, 16) })} ${t(proof)} ${t(`verify.cosign.sig.${cosign.signature}`)}`,
    ],
    [t('verify.witnesses'), list],
  ];
}

function reportItem(report, zone, proofs) {
  const item = el('li', { className: 'report' });
  item.append(el('h5', { text: report.report_id }));
  const source = [term('source', report.source?.kind), report.source?.party, report.source?.name].filter(Boolean).join(' · ');
  item.append(
    facts([
      [t('report.source'), source],
      [t('report.accused'), report.accused],
      [t('report.action'), term('action', report.action)],
      [t('report.target'), term('target', report.target)],
      [t('report.time'), formatTime(report.start_ms, zone)],
      [t('report.location'), locationText(report.location)],
      [t('report.zones'), report.zone_ids],
      [t('report.log_index'), report.log_index],
    ]),
  );
  if (typeof report.text === 'string' && report.text !== '') {
    item.append(el('blockquote', { text: report.text }));
  } else {
    item.append(el('p', { className: 'hint', text: t('report.text_withheld') }));
  }
  if (Number.isSafeInteger(report.log_index) && report.log_index >= 0) {
    const button = el('button', { className: 'verify', text: t('verify.button') });
    button.type = 'button';
    button.dataset.index = String(report.log_index);
    button.dataset.report = String(report.report_id ?? '');
    const holder = el('div', { className: 'proof' });
    holder.setAttribute('role', 'status');
    holder.setAttribute('aria-live', 'polite');
    holder.dataset.index = String(report.log_index);
    const known = proofs?.get(report.log_index);
    if (known) renderProof(holder, known, zone);
    item.append(el('div', { className: 'proof-box' }, button, holder));
  }
  return item;
}

/**
 * One step of an incident's audit trail: when (in `zone`, labelled), what (a review's
 * decision, a re-attribution and to whom, a contest, a retraction) and by whom — the author
 * only when the server gave it to this reader (the public gets no identities).
 */
export function trailItem(annotation, zone) {
  const body = annotation.body && typeof annotation.body === 'object' ? annotation.body : {};
  const item = el('li', { className: 'trail-item' });
  item.dataset.kind = String(annotation.kind ?? '');
  let what;
  if (annotation.kind === 'review') {
    const decision = typeof body.decision === 'string' ? body.decision : '';
    item.dataset.decision = decision;
    if (decision === 'reattribute') {
      what = typeof body.party === 'string' && body.party !== ''
        ? t('trail.reattributed', { party: body.party })
        : t('trail.reattributed_nobody');
    } else {
      what = t('trail.reviewed', { decision: term('decision', decision) });
    }
    if (Array.isArray(body.reports) && body.reports.length > 0) {
      what += ` — ${t('trail.reports', { reports: body.reports.map(String).join(', ') })}`;
    }
    if (typeof body.answers_contest === 'string' && body.answers_contest !== '') {
      what += ` — ${t('trail.answers', { contest: body.answers_contest })}`;
    }
  } else if (annotation.kind === 'contest') {
    what = t('trail.contested', { party: String(body.party ?? '—'), reading: String(body.interpretation ?? 'common') });
  } else if (annotation.kind === 'retraction') {
    what = t('trail.retracted', { report: String(body.report_id ?? annotation.subject ?? '') });
  } else {
    what = term('annotation', annotation.kind);
  }
  const author = typeof annotation.author === 'string' && annotation.author !== '' ? annotation.author : null;
  item.append(
    el('span', { className: 'when', text: formatTime(annotation.submitted_at_ms, zone) }),
    el('span', { className: 'what', text: what }),
    el('span', { className: 'who', text: author ? t('trail.by', { author }) : t('trail.author_withheld') }),
  );
  if (author) item.dataset.author = author;
  return item;
}

function contestItem(contest) {
  const item = el('li', { className: 'contest' });
  item.append(el('p', { text: t('contest.line', { party: contest.party, reading: contest.interpretation, status: term('status', contest.status) }) }));
  const versions = el('ol');
  for (const version of contest.versions ?? []) {
    const line = el('li', { text: `${t('contest.version', { n: version.version })}: ` });
    if (version.finding) line.append(verdictBadge(version.finding.verdict));
    else line.append(el('span', { text: t('contest.no_incident') }));
    versions.append(line);
  }
  item.append(versions);
  return item;
}

/**
 * Fills `body` with `detail` (GET /v1/agreements/{id}/incidents/{incident}) and
 * `annotations` (reviews, contests and retractions about the incident or its reports, in log
 * order: the audit trail), times in `zone`;
 * `proofs` holds the proof checks already made, by log index.
 */
export function renderIncident(body, detail, annotations, zone, proofs = new Map(), region = '') {
  const incident = detail.incident;
  body.replaceChildren();
  body.append(
    facts([
      [t('incident.time'), formatTime(incident.start_ms, zone)],
      [t('incident.until'), incident.end_ms !== incident.start_ms ? formatTime(incident.end_ms, zone) : ''],
      [t('incident.action'), term('action', incident.action)],
      [t('incident.target'), term('target', incident.target)],
      [t('incident.site'), incident.site],
      [t('incident.casualties'), casualtyText(incident.casualties)],
      [t('incident.location'), locationText(incident.location)],
      [t('incident.region'), region],
      [t('incident.sources'), incident.n_sources],
    ]),
  );
  body.append(el('h3', { text: t('panel.findings') }));
  for (const finding of incident.findings ?? []) body.append(findingSection(finding));
  body.append(el('h3', { text: t('panel.reports', { n: (detail.reports ?? []).length }) }));
  const reports = el('ol', { className: 'reports' });
  for (const report of detail.reports ?? []) reports.append(reportItem(report, zone, proofs));
  body.append(reports);
  body.append(el('h3', { text: t('panel.trail') }));
  if (annotations.length === 0) {
    body.append(el('p', { className: 'hint trail-empty', text: t('panel.no_trail') }));
  } else {
    const list = el('ol', { className: 'trail' });
    for (const annotation of annotations) list.append(trailItem(annotation, zone));
    body.append(list);
  }
  if ((detail.contests ?? []).length > 0) {
    body.append(el('h3', { text: t('panel.contests') }));
    const list = el('ul', { className: 'contests' });
    for (const contest of detail.contests) list.append(contestItem(contest));
    body.append(list);
  }
}
