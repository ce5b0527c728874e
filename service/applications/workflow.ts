/**
 * The application's states and the actions allowed from each: the one table every transition
 * consults. Each transition is applied as a single conditional update whose filter includes the
 * allowed source states, so a transition from the wrong state matches nothing and answers 409.
 */
export const STATUSES = ['draft', 'pending', 'in_review', 'returned', 'approved', 'rejected', 'withdrawn'] as const;
export type ApplicationStatus = (typeof STATUSES)[number];

export const ACTIONS = {
  edit: { from: ['draft', 'returned'] },
  upload: { from: ['draft', 'returned'] },
  removeDocument: { from: ['draft', 'returned'] },
  submit: { from: ['draft'], to: 'pending' },
  resubmit: { from: ['returned'], to: 'pending' },
  withdraw: { from: ['draft', 'pending', 'in_review', 'returned'], to: 'withdrawn' },
  claim: { from: ['pending', 'in_review'], to: 'in_review' },
  release: { from: ['in_review'], to: 'pending' },
  approve: { from: ['in_review'], to: 'pending' },
  approveFinal: { from: ['in_review'], to: 'approved' },
  return: { from: ['in_review'], to: 'returned' },
  reject: { from: ['in_review'], to: 'rejected' },
  /** The official calendar reached a provisional deadline's year: recount it (never earlier). */
  recomputeDeadline: { from: ['pending', 'in_review', 'returned'] },
  complain: { from: ['pending', 'in_review', 'returned', 'approved', 'rejected', 'withdrawn'] },
  /** A note that the certificate of an approved case was revoked or superseded. */
  certificateChange: { from: ['approved'] },
  /** 好差评: a case is rated once it has ended. */
  rate: { from: ['approved', 'rejected', 'withdrawn'] },
} as const satisfies Record<string, { from: readonly ApplicationStatus[]; to?: ApplicationStatus }>;

export type Action = keyof typeof ACTIONS;

export function allowedFrom(action: Action): ApplicationStatus[] {
  return [...ACTIONS[action].from];
}

export function isAllowed(action: Action, status: ApplicationStatus): boolean {
  return (ACTIONS[action].from as readonly ApplicationStatus[]).includes(status);
}

/** Each state as residents and officers read it (messages never show our codes). */
export const STATUS_LABELS: Record<ApplicationStatus, { zh: string; en: string }> = {
  draft: { zh: '草稿', en: 'a draft' },
  pending: { zh: '待审核', en: 'waiting for review' },
  in_review: { zh: '审核中', en: 'in review' },
  returned: { zh: '退回补正', en: 'returned for supplement' },
  approved: { zh: '已批准', en: 'approved' },
  rejected: { zh: '不予批准', en: 'rejected' },
  withdrawn: { zh: '已撤回', en: 'withdrawn' },
};

/** States in which nothing will happen any more. */
export const FINAL: readonly ApplicationStatus[] = ['approved', 'rejected', 'withdrawn'];
