import type { CaseRatingReply, OpenCaseRequest, SessionView } from '../../../src-shared/index.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { type CaseInfo, receiptCode } from '../session.ts';
import type { Db } from '../store/open.ts';

/** Who called the window API, as far as the counter can tell: logged with every case (threat T8). */
export interface ApiCaller {
  /** Name the program declared in the X-Haocha-Caller header, or `unnamed`. */
  name: string;
  user_agent: string | null;
  /** Peer address and port of the TCP connection (always loopback). */
  peer: string;
}

/** The latest rating committed for a case (one for 一事一评 items; 一次一评 items may have one per visit). */
export function ratingOfCase(db: Db, caseNo: string): { receipt: string; rated_at: string } | null {
  const row = db
    .prepare(
      "SELECT event_id, rated_at FROM ratings WHERE case_ref = ? AND outcome = 'rated' ORDER BY seq DESC LIMIT 1",
    )
    .get(caseNo) as { event_id: string; rated_at: string } | undefined;
  return row ? { receipt: receiptCode(row.event_id), rated_at: row.rated_at } : null;
}

export function isApiCase(db: Db, caseNo: string): boolean {
  return db.prepare('SELECT 1 FROM api_cases WHERE case_no = ?').get(caseNo) !== undefined;
}

/**
 * Records a case opened over the API and its audit entry in one transaction: either both are
 * stored or neither (nothing half-written).
 */
export function recordCaseOpened(
  db: Db,
  audit: AuditLog,
  req: OpenCaseRequest,
  caller: ApiCaller,
  at: string,
): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO api_cases (case_no, item_code, item_name, applicant_type, anonymous_allowed, caller, opened_at,
         case_status, accepted_at, finished_at, dept_id, rater)
       VALUES (@case_no, @item_code, @item_name, @applicant_type, @anonymous_allowed, @caller, @opened_at,
         @case_status, @accepted_at, @finished_at, @dept_id, @rater)
       ON CONFLICT (case_no) DO UPDATE SET
         item_code = excluded.item_code, item_name = excluded.item_name,
         applicant_type = excluded.applicant_type, anonymous_allowed = excluded.anonymous_allowed,
         caller = excluded.caller, opened_at = excluded.opened_at, opens = opens + 1,
         case_status = excluded.case_status, accepted_at = excluded.accepted_at,
         finished_at = excluded.finished_at, dept_id = excluded.dept_id, rater = excluded.rater`,
    ).run({
      case_no: req.case_no,
      item_code: req.item_code,
      item_name: req.item_name,
      applicant_type: req.applicant_type,
      case_status: req.case_status ?? null,
      accepted_at: req.accepted_at ?? null,
      finished_at: req.finished_at ?? null,
      dept_id: req.dept_code ?? null,
      rater: req.applicant ? JSON.stringify(req.applicant) : null,
      anonymous_allowed: req.anonymous_allowed ? 1 : 0,
      caller: JSON.stringify(caller),
      opened_at: at,
    });
    // The applicant's contact stays out of the audit log: it is personal data, not an action.
    const { applicant: _contact, ...logged } = req;
    audit.append(`api:${caller.name}`, 'case.opened', {
      ...logged,
      has_contact: Boolean(req.applicant),
      caller,
    });
  })();
}

/** Stores a queue call and its audit entry together; returns the call's id. */
export function recordQueueCall(
  db: Db,
  audit: AuditLog,
  call: { ticket: string; service_name?: string | undefined },
  caller: ApiCaller,
  at: string,
): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare('INSERT INTO queue_calls (ticket, service_name, caller, called_at) VALUES (?, ?, ?, ?)')
        .run(call.ticket, call.service_name ?? null, JSON.stringify(caller), at).lastInsertRowid,
    );
    audit.append(`api:${caller.name}`, 'queue.called', {
      id,
      ticket: call.ticket,
      service_name: call.service_name ?? null,
      caller,
    });
    return id;
  })();
}

/** A case's rating state as the business system may see it: never the level (threat T2). */
export function caseRatingState(db: Db, caseNo: string, session: SessionView): CaseRatingReply | null {
  const rating = ratingOfCase(db, caseNo);
  if (rating) return { case_no: caseNo, status: 'rated', receipt: rating.receipt, rated_at: rating.rated_at };
  if (session.state === 'rating_open' && session.case_ref === caseNo)
    return { case_no: caseNo, status: 'pending', receipt: null, rated_at: null };
  if (isApiCase(db, caseNo)) return { case_no: caseNo, status: 'not_rated', receipt: null, rated_at: null };
  return null;
}

/** What the session needs to know of an API case to build its rating record. */
export function caseInfoOf(req: OpenCaseRequest): CaseInfo {
  return {
    case_ref: req.case_no,
    item_code: req.item_code,
    item_name: req.item_name,
    case_status: req.case_status ?? null,
    accepted_at: req.accepted_at ?? null,
    finished_at: req.finished_at ?? null,
    dept_id: req.dept_code ?? null,
    rater_type: req.applicant_type,
    anonymous_allowed: req.anonymous_allowed,
    rater: req.applicant ? { name: req.applicant.name ?? null, phone: req.applicant.phone ?? null } : null,
  };
}
